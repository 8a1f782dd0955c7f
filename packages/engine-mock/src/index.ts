export {
  createMockCluster,
  MockCluster,
  type MockClusterOptions,
  type RemoteTarget,
} from './cluster.js';
export { MockEngine } from './engine.js';
export { CallLog, type CallRecord, FaultPlan } from './faults.js';
export {
  DEFAULT_BUFFER_ALIGN,
  DEFAULT_LIMITS,
  DEFAULT_SESSION_MEMORY,
  type EngineLimits,
} from './limits.js';
export { MockSession } from './session.js';

export { type Access, BufferRecord } from './buffer-record.js';
export {
  DEFAULT_BUFFER_ALIGN,
  DEFAULT_ENGINE_CONFIG,
  type EngineConfig,
  type EngineConfigInput,
  type EngineLimits,
  engineConfigSchema,
  limitsOf,
  resolveEngineConfig,
} from './config.js';
export type { DmaStats } from './dma-engine.js';
export type {
  Admission,
  Fabric,
  LinkOperation,
  MemoryOwner,
  RemoteFailure,
  RemoteLink,
  Route,
} from './fabric.js';
export { createLocalCluster, LocalCluster, type LocalClusterOptions } from './local-cluster.js';
export { UnimemNode } from './node.js';
export { UnimemSessionImpl } from './session.js';

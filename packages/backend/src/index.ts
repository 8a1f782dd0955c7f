export { AuditLog, type AuditRecord } from './audit-log.js';
export {
  type HostConfig,
  type HostConfigInput,
  hostConfigSchema,
  type Quotas,
  quotasSchema,
} from './config.js';
export { FairScheduler, type FlowStats } from './fair-scheduler.js';
export { GuestSession } from './guest-session.js';
export { type AttachedGuest, createHost, type Host, type HostOptions } from './host.js';
export type { LedgerSnapshot } from './ledger.js';
export { type GuestMetricsSnapshot, LatencyHistogram } from './metrics.js';
export {
  type DepartedGuest,
  type GuestConnection,
  type GuestInfo,
  ServedGuest,
} from './served-guest.js';

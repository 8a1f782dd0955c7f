export { type AttachVmGuestOptions, attachVmGuest } from './attach/attach-vm-guest.js';
export { type AttachWorkerOptions, attachWorker } from './attach/attach-worker.js';
export { type HostListener, type ListenOptions, listen } from './attach/listen.js';
export {
  type OperatorListener,
  type OperatorSocketOptions,
  serveOperator,
  statsOf,
} from './attach/operator-socket.js';
export { createVmMemory, type VmMemory } from './attach/vm-memory.js';
export { AuditLog, type AuditRecord } from './audit-log.js';
export { type AuditPrinterOptions, auditPrinter, formatAuditRecord } from './audit-printer.js';
export {
  type DeniedAccessLimits,
  deniedAccessSchema,
  type HostConfig,
  type HostConfigInput,
  hostConfigSchema,
  type Quotas,
  quotasSchema,
} from './config.js';
export { FairScheduler, type FairSchedulerOptions, type FlowStats } from './fair-scheduler.js';
export type { Holdings } from './guest-objects.js';
export { type AttachedGuest, createHost, type Host, type HostOptions } from './host.js';
export {
  chain,
  type GuestIdentity,
  type HostCall,
  type HostHandler,
  type HostInterceptor,
} from './interceptor.js';
export { type GuestMetricsSnapshot, LatencyHistogram } from './metrics.js';
export { Refusal, type RefusalKind } from './refusal.js';
export type {
  DepartedGuest,
  GuestConnection,
  GuestInfo,
  LedgerSnapshot,
} from './served-guest.js';
export { type Service, service } from './service.js';
export { tokenDigest, type WeightGrant } from './weight-grants.js';

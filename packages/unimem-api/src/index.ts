export {
  checkReapArgs,
  checkTransferArgs,
  type ReapArgs,
  type TransferArgs,
} from './data-plane-args.js';
export type {
  SessionOptions,
  UnimemApi,
  UnimemArgs,
  UnimemEngine,
  UnimemErrorCode,
  UnimemResult,
  UnimemSession,
} from './engine.js';
export {
  GLOBAL_ADDRESS_OFFSET_BITS,
  type GlobalAddress,
  globalAddress,
  MAX_NODE_ID,
  MAX_NODE_OFFSET,
  makeGlobalAddress,
  nodeOf,
  nodeOffsetOf,
  offsetAddress,
} from './global-address.js';
export {
  type RemoteUnimemSession,
  type UnimemConnection,
  unimemSession,
} from './remote-session.js';
export {
  type Completion,
  type CompletionStatus,
  completionStatus,
  type DeviceInfo,
  MAX_COMPLETIONS,
  type UnimemSpec,
  unimemSpec,
} from './spec.js';

export { CompletionWaiter } from './completion-waiter.js';
export { connectQp, createEndpoint, type Endpoint, type EndpointOptions } from './endpoint.js';
export type {
  VerbsApi,
  VerbsArgs,
  VerbsEngine,
  VerbsErrorCode,
  VerbsResult,
  VerbsSession,
  VerbsSessionOptions,
} from './engine.js';
export { Mailbox, type OutOfBand, outOfBandPair } from './out-of-band.js';
export {
  DEFAULT_PING_PONG_SIZES,
  type PingPongOptions,
  type PingPongResult,
  type PingPongSideResult,
  type PingPongStep,
  pingPongPattern,
  runPingPong,
  runPingPongSide,
} from './ping-pong.js';
export { type RemoteVerbsSession, type VerbsConnection, verbsSession } from './remote-session.js';
export {
  type AccessFlags,
  type DeviceAttributes,
  MAX_POLL,
  type QpState,
  qpState,
  type RemoteEnd,
  type VerbsSpec,
  verbsSpec,
  type WcOpcode,
  type WcStatus,
  type WorkCompletion,
  wcOpcode,
  wcStatus,
} from './spec.js';

export {
  ATTACH_DOORBELLS,
  ATTACH_PROTOCOL_VERSION,
  type AttachRequest,
  attachRefusalSchema,
  attachRequestSchema,
  isWorkerMemoryMessage,
  MAX_ATTACH_LINE,
  MAX_GUEST_MEMORY,
  MAX_TOKEN_LENGTH,
  type Welcome,
  type WorkerMemoryMessage,
  welcomeSchema,
} from './attach-protocol.js';
export { type Codec, createCodec } from './codec.js';
export {
  type ApiDefinition,
  type ApiOf,
  type ApiSpec,
  type ArgsShape,
  type CallOptions,
  type CapabilityDefinition,
  type CompiledFunction,
  defineApi,
  type ErrorCodeOf,
  type FunctionDefinition,
  type FunctionMap,
  type HandleDefinition,
  type ImplOf,
  MAX_FUNCTIONS,
  type MethodOf,
  type Plane,
} from './define-api.js';
export {
  canonicalJson,
  describeSchema,
  type SchemaNode,
  SchemaSupportError,
} from './describe-schema.js';
export {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  type DispatchFailure,
  type PostedOutcome,
} from './dispatcher.js';
export type { Engine, EngineSession, EngineSessionOptions } from './engine.js';
export {
  FRAMEWORK_ERROR_CODES,
  type FrameworkErrorCode,
  isVrdmaError,
  VrdmaError,
  type WireError,
} from './errors.js';
export { fingerprintOf, shortFingerprint } from './fingerprint.js';
export { type FixedLayout, fixedLayoutOf, MAX_FIXED_ARRAY } from './fixed-layout.js';
export {
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_SIZE,
  FRAME_VERSION,
  type Frame,
  type FrameHeader,
  FrameKind,
  peekFrameHeader,
  peekFrameKind,
  writeFrameHeader,
} from './frame.js';
export { summariseIssues } from './issues.js';
export {
  type KindMapper,
  type KindSites,
  type KindVisitor,
  kindSitesOf,
} from './kind-visitor.js';
export {
  type BufferRef,
  bufferRef,
  bytes,
  capability,
  type Handle,
  handle,
  type KindMeta,
  kindRegistry,
  MAX_HANDLE,
  MAX_REGION_BYTES,
  MAX_WIDE_CAPABILITY,
} from './kinds.js';
export type { CallInfo, Link, QueueLink } from './link.js';
export { createLoopbackLink } from './loopback.js';
export { createMemoryTransportPair } from './memory-transport.js';
export type { CompiledQueue, CompletionQueueDefinition, QueuePlan } from './queue-plan.js';
export { type Region, regionView } from './region.js';
export type { Releases, ResourceKind, ResourcePlan } from './resources.js';
export {
  SESSION_FEATURES,
  type SessionFeature,
  type SessionSpec,
  sessionSpec,
} from './session/spec.js';
export {
  createStub,
  type GuestCall,
  type GuestHandler,
  type GuestInterceptor,
  type StubOptions,
} from './stub.js';
export {
  type ClientTransport,
  type FrameHandler,
  NO_REPLY,
  type ServerTransport,
  type TransportMetrics,
} from './transport.js';
export { type VmWelcome, vmWelcomeSchema } from './vm-attach-protocol.js';

export {
  CHANNEL_HEADER_SIZE,
  channelBytes,
  initChannel,
  readChannelShape,
  replyRingOffset,
  requestRingOffset,
  Word,
} from './channel-layout.js';
export { createChannelPair } from './channel-pair.js';
export { GuestEndpoint } from './guest-endpoint.js';
export { HostEndpoint } from './host-endpoint.js';
export { MIN_SPIN_BUDGET_US, type PollOptions } from './poller.js';
export {
  checkRingShape,
  DEFAULT_RING_SHAPE,
  initRing,
  maxFrameSize,
  RING_HEADER_SIZE,
  RingConsumer,
  RingProducer,
  type RingShape,
  ringBytes,
} from './ring.js';
export {
  connectToThreadHost,
  type HostConnection,
  type ThreadGuestOptions,
  type ThreadHostConnection,
} from './thread-guest.js';
export { attachThreadGuest, type ChannelOptions, type GuestConnection } from './thread-host.js';
export type { ThreadMessage } from './thread-messages.js';

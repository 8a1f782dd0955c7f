export { createAtomicsDoorbell } from './atomics-doorbell.js';
export type { PollState } from './busy-poller.js';
export { type DescriptorChain, gatherReadable, type Segment, scatterWritable } from './chain.js';
export {
  createVirtioClientTransport,
  type VirtioClientOptions,
  type VirtioClientTransport,
} from './client-transport.js';
export {
  CONFIG,
  CONFIG_BLOCK_BYTES,
  CONFIG_MAGIC,
  CONFIG_VERSION,
  initDeviceConfig,
} from './config-block.js';
export {
  MAX_QUEUE_SIZE,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_USED_F_NO_NOTIFY,
} from './constants.js';
export { type DeviceOptions, VirtqueueDevice } from './device.js';
export { type ChainRequest, type UsedBuffer, VirtqueueDriver } from './driver.js';
export {
  checkDriverFeatures,
  DEVICE_FEATURES,
  type Features,
  featureBit,
  hasFeature,
  negotiateFeatures,
} from './features.js';
export { type FileMirror, openFileMirror } from './file-memory-port.js';
export {
  availRingBytes,
  checkQueueAddresses,
  descTableBytes,
  legacyVringSize,
  planQueue,
  type QueueAddresses,
  usedRingBytes,
} from './layout.js';
export type { MemoryPort } from './memory-port.js';
export { vringNeedEvent } from './need-event.js';
export type { NotificationSource, Notifier } from './notifier.js';
export { DEFAULT_POLL_BUDGET_US, MIN_POLL_BUDGET_US, PollBudget } from './poll-budget.js';
export { faultOf, QUEUE_FAULTS, type QueueFault } from './queue-fault.js';
export { RingMemory } from './ring-memory.js';
export {
  createVirtioServerTransport,
  type VirtioServerOptions,
  type VirtioServerTransport,
} from './server-transport.js';
export { type ShmDoorbellOptions, shmDoorbell, threadShmDoorbell } from './shm-doorbell.js';
export {
  type ByteSink,
  type ByteSource,
  streamNotificationSource,
  streamNotifier,
} from './stream-doorbell.js';
export {
  attachVirtioThreadGuest,
  connectToVirtioThreadHost,
  type VirtioThreadGuestOptions,
  type VirtioThreadHostOptions,
} from './thread-attach.js';

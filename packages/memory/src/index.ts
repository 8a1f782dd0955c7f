export { CACHE_LINE, PAGE_SIZE, RangeAllocator } from './allocator.js';
export { type AllocateOptions, BufferAllocator, type SharedBuffer } from './buffer-allocator.js';
export { connectUnix } from './connect-unix.js';
export {
  CONTENDED_SHARE,
  CONTENDED_WAIT_US,
  ContentionGuard,
  HOLD_RUNS,
  WAIT_SAMPLE_US,
} from './contention-guard.js';
export { MAX_PASSED_FDS } from './descriptor.js';
export { AWAKE, atomicsWakeChannel, Doorbell, SLEEPING, type WakeChannel } from './doorbell.js';
export { DoorbellMux, type DoorbellStream } from './doorbell-mux.js';
export { isDumpable, makeNonDumpable } from './dumpable.js';
export { type MapReceivedOptions, mapReceivedRegion, SEALS } from './map-received-region.js';
export { mapWindows, type RegionWindow } from './map-windows.js';
export { createMemfdRegion, type MemfdRegion } from './memfd-region.js';
export {
  type MemfdInfo,
  type NativeMemory,
  nativeMemory,
  type ReceivedWithFds,
} from './native.js';
export {
  MAX_REGION_MESSAGE,
  type ReceivedRegions,
  type ReceiveOptions,
  receiveRegions,
} from './receive-regions.js';
export { RegionRegistry } from './region-registry.js';
export { type RunDelayClock, runDelayFileOpen, schedstatRunDelay } from './run-delay.js';
export { sendRegions } from './send-regions.js';
export {
  checkRegionSize,
  createSharedRegion,
  MAX_REGION_SIZE,
  regionOver,
} from './shared-region.js';
export { SocketWakeChannel } from './socket-wake-channel.js';
export { writeWithoutBlocking } from './write-without-blocking.js';

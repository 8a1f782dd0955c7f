export { CACHE_LINE, PAGE_SIZE, RangeAllocator } from './allocator.js';
export { type AllocateOptions, BufferAllocator, type SharedBuffer } from './buffer-allocator.js';
export { AWAKE, atomicsWakeChannel, Doorbell, SLEEPING, type WakeChannel } from './doorbell.js';
export { createMemfdRegion, type MemfdRegion, openMappedRegion } from './memfd-region.js';
export { type NativeMemory, nativeMemory } from './native.js';
export { RegionRegistry } from './region-registry.js';
export {
  checkRegionSize,
  createSharedRegion,
  MAX_REGION_SIZE,
  regionOver,
} from './shared-region.js';
export { SocketWakeChannel } from './socket-wake-channel.js';

import { type Region, VrdmaError } from '@vrdma/api-spec';

/** Largest region this package maps (32-bit offsets in buffer references stay exact). */
export const MAX_REGION_SIZE = 2 ** 31;

export function checkRegionSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_REGION_SIZE) {
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `region size ${size} must be a positive integer up to ${MAX_REGION_SIZE}`,
    );
  }
}

/**
 * A region for guests in worker threads: one SharedArrayBuffer, the same memory in every
 * thread it is posted to. `bytes` is the only view; buffers are subarrays of it.
 */
export function createSharedRegion(id: number, size: number): Region {
  checkRegionSize(size);
  return { id, size, bytes: new Uint8Array(new SharedArrayBuffer(size)) };
}

/** A region over memory received from elsewhere (a posted SharedArrayBuffer, a mapping). */
export function regionOver(id: number, memory: ArrayBufferLike): Region {
  return { id, size: memory.byteLength, bytes: new Uint8Array(memory) };
}

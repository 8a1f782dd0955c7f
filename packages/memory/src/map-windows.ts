import { type Region, VrdmaError } from '@vrdma/api-spec';
import { nativeMemory } from './native.js';
import { nativeCode, transportError } from './native-error.js';
import { checkRegionSize } from './shared-region.js';

/** Where one region lies inside a larger file: a page-aligned window. */
export interface RegionWindow {
  id: number;
  /** Bytes from the start of the file; a multiple of the page size. */
  offset: number;
  size: number;
}

/**
 * Maps several regions out of one file descriptor, each its own ArrayBuffer: a virtual
 * machine's one shared-memory device (an ivshmem BAR, or the memfd behind it on the host)
 * holds a guest's virtqueue, data-plane channel and buffers side by side, while each
 * transport wants a buffer of its own. The descriptor stays the caller's.
 */
export function mapWindows(fd: number, windows: readonly RegionWindow[]): Region[] {
  const native = nativeMemory();
  return windows.map(({ id, offset, size }) => {
    checkRegionSize(size);
    try {
      return { id, size, bytes: new Uint8Array(native.map(fd, size, offset)) };
    } catch (error) {
      if (nativeCode(error) === 'OUT_OF_RANGE')
        throw new VrdmaError(
          'INVALID_ARGUMENT',
          `region ${id}: ${size} bytes at offset ${offset} is not a page-aligned window of the file`,
          { cause: error },
        );
      throw transportError(`mapping region ${id} (${size} bytes at offset ${offset})`, error);
    }
  });
}

import { type Region, VrdmaError } from '@vrdma/api-spec';
import { checkDescriptor, closeQuietly } from './descriptor.js';
import { nativeMemory } from './native.js';
import { transportError } from './native-error.js';
import { checkRegionSize } from './shared-region.js';

/** memfd seal bits (F_ADD_SEALS / F_GET_SEALS), as `memfdInfo` reports them. */
export const SEALS = { SEAL: 1, SHRINK: 2, GROW: 4, WRITE: 8 } as const;

export interface MapReceivedOptions {
  /** Require the memfd to be sealed against shrinking (default true). */
  requireSeals?: boolean;
}

/**
 * Maps memory received as a descriptor (`receiveRegions`) as region `id` of `size` bytes.
 * Before mapping it checks what it was given: a memfd, at least `size` bytes, and (unless
 * `requireSeals` is false) sealed against shrinking, so its sender can never truncate it under
 * this process (a fault on touch). It refuses anything else with INVALID_ARGUMENT.
 *
 * It takes the descriptor: it is closed whatever happens, the mapping staying valid, so no
 * descriptor is left for another process to reach through /proc.
 */
export function mapReceivedRegion(
  id: number,
  fd: number,
  size: number,
  options: MapReceivedOptions = {},
): Region {
  try {
    checkDescriptor(fd, 'a received region');
    checkRegionSize(size);
    const native = nativeMemory();
    let info: ReturnType<typeof native.memfdInfo>;
    try {
      info = native.memfdInfo(fd);
    } catch (error) {
      throw transportError(`inspecting the descriptor of region ${id}`, error);
    }
    if (!info.isMemfd) {
      throw new VrdmaError(
        'INVALID_ARGUMENT',
        `region ${id}: the descriptor received is not a memfd (it takes no seals); refusing to map it`,
      );
    }
    if (info.size < size) {
      throw new VrdmaError(
        'INVALID_ARGUMENT',
        `region ${id}: the memfd received holds ${info.size} bytes, fewer than the ${size} expected`,
      );
    }
    if ((options.requireSeals ?? true) && (info.seals & SEALS.SHRINK) === 0) {
      throw new VrdmaError(
        'INVALID_ARGUMENT',
        `region ${id}: the memfd received is not sealed against shrinking (seals ${info.seals}); ` +
          'its sender could truncate it under this process',
      );
    }
    try {
      return { id, size, bytes: new Uint8Array(native.map(fd, size)) };
    } catch (error) {
      throw transportError(`mapping region ${id}`, error);
    }
  } finally {
    closeQuietly(fd);
  }
}

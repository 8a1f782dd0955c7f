import { type BufferRef, type Region, VrdmaError } from '@vrdma/api-spec';
import { CACHE_LINE, PAGE_SIZE, RangeAllocator } from './allocator.js';

/** A buffer in a shared region: its reference (what crosses the ring) and the guest's view. */
export interface SharedBuffer {
  readonly ref: BufferRef;
  /** A subarray of the region's bytes: the very memory the host and the engine see. */
  readonly bytes: Uint8Array;
}

export interface AllocateOptions {
  /** `'cache-line'` (64, the default), `'page'` (4096), or any power of two. */
  align?: 'cache-line' | 'page' | number;
}

/**
 * The guest's allocator of RDMA buffers over one of its regions. Buffers are referenced by
 * (region id, offset, length); the bookkeeping stays in this object, out of shared memory.
 */
export class BufferAllocator {
  private readonly ranges: RangeAllocator;

  constructor(readonly region: Region) {
    this.ranges = new RangeAllocator(region.size);
  }

  allocate(length: number, options: AllocateOptions = {}): SharedBuffer {
    const align =
      options.align === 'page'
        ? PAGE_SIZE
        : options.align === 'cache-line' || options.align === undefined
          ? CACHE_LINE
          : options.align;
    const offset = this.ranges.allocate(length, align);
    return {
      ref: { region: this.region.id, offset, length },
      bytes: this.region.bytes.subarray(offset, offset + length),
    };
  }

  /** Frees a buffer; BAD_HANDLE on a double free or a reference this allocator never gave. */
  free(buffer: SharedBuffer | BufferRef): void {
    const ref = 'ref' in buffer ? buffer.ref : buffer;
    if (ref.region !== this.region.id) {
      throw new VrdmaError(
        'BAD_HANDLE',
        `buffer of region ${ref.region} freed in region ${this.region.id}`,
      );
    }
    const length = this.ranges.lengthAt(ref.offset);
    if (length !== undefined && length !== ref.length) {
      throw new VrdmaError(
        'BAD_HANDLE',
        `buffer at offset ${ref.offset} is ${length} bytes long, not ${ref.length}`,
      );
    }
    this.ranges.release(ref.offset);
  }

  get bytesInUse(): number {
    return this.ranges.bytesInUse;
  }

  get bytesFree(): number {
    return this.region.size - this.ranges.bytesInUse;
  }
}

import { VrdmaError } from '@vrdma/api-spec';

interface Span {
  offset: number;
  length: number;
}

/** Cache-line alignment: the default, so two buffers never share a line between cores. */
export const CACHE_LINE = 64;
/** Page alignment, on request (buffers an engine may map or pin page by page). */
export const PAGE_SIZE = 4096;

/**
 * First-fit allocation of byte ranges inside a region, with coalescing on free. The records
 * live here, in the allocating side's private memory, never in the shared region: the host
 * never reads them, and a guest scribbling over its region cannot corrupt them.
 *
 * Errors: NO_MEMORY when no free span fits, BAD_HANDLE for a release of an offset that is not
 * the start of a live allocation (double free, or never allocated), INVALID_ARGUMENT for a
 * length or alignment that makes no sense.
 */
export class RangeAllocator {
  private free: Span[];
  private readonly used = new Map<number, number>();
  private inUse = 0;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new VrdmaError('INVALID_ARGUMENT', `allocator size ${size} is not a byte count`);
    }
    this.free = size > 0 ? [{ offset: 0, length: size }] : [];
  }

  /** Offset of `length` bytes aligned to `align` (a power of two, cache line by default). */
  allocate(length: number, align: number = CACHE_LINE): number {
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new VrdmaError('INVALID_ARGUMENT', `cannot allocate ${length} bytes`);
    }
    if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new VrdmaError('INVALID_ARGUMENT', `alignment ${align} is not a power of two`);
    }
    for (let i = 0; i < this.free.length; i++) {
      const span = this.free[i]!;
      const start = Math.ceil(span.offset / align) * align;
      const end = start + length;
      if (end > span.offset + span.length) continue;
      const pieces: Span[] = [];
      if (start > span.offset) pieces.push({ offset: span.offset, length: start - span.offset });
      if (end < span.offset + span.length)
        pieces.push({ offset: end, length: span.offset + span.length - end });
      this.free.splice(i, 1, ...pieces);
      this.used.set(start, length);
      this.inUse += length;
      return start;
    }
    throw new VrdmaError(
      'NO_MEMORY',
      `no ${length} free bytes aligned to ${align} (region of ${this.size} bytes, ` +
        `${this.size - this.inUse} free, largest span ${this.largestFreeSpan})`,
    );
  }

  /** Frees the allocation starting at `offset`; BAD_HANDLE on a double free or unknown offset. */
  release(offset: number): void {
    const length = this.used.get(offset);
    if (length === undefined) {
      throw new VrdmaError(
        'BAD_HANDLE',
        `no live allocation at offset ${offset}: double free, or never allocated`,
      );
    }
    this.used.delete(offset);
    this.inUse -= length;
    const index = this.free.findIndex((s) => s.offset > offset);
    const at = index === -1 ? this.free.length : index;
    this.free.splice(at, 0, { offset, length });
    this.coalesce(Math.max(0, at - 1));
  }

  /** Length of the live allocation at `offset`, or undefined. */
  lengthAt(offset: number): number | undefined {
    return this.used.get(offset);
  }

  get bytesInUse(): number {
    return this.inUse;
  }

  /** Number of free spans: 1 after everything is freed, whatever the order (coalescing). */
  get freeSpanCount(): number {
    return this.free.length;
  }

  get largestFreeSpan(): number {
    let largest = 0;
    for (const span of this.free) largest = Math.max(largest, span.length);
    return largest;
  }

  private coalesce(from: number): void {
    for (let i = from; i < this.free.length - 1 && i <= from + 1; ) {
      const a = this.free[i]!;
      const b = this.free[i + 1]!;
      if (a.offset + a.length === b.offset) {
        a.length += b.length;
        this.free.splice(i + 1, 1);
      } else i++;
    }
  }
}

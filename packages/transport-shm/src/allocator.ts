import { VrdmaError } from '@vrdma/api-spec';

interface Span {
  offset: number;
  length: number;
}

/**
 * First-fit allocation of byte ranges inside a region, with coalescing on free. The records
 * live here, in the engine's memory, never in the shared region.
 */
export class RangeAllocator {
  private free: Span[];
  private readonly used = new Map<number, number>();

  constructor(readonly size: number) {
    this.free = size > 0 ? [{ offset: 0, length: size }] : [];
  }

  /** Offset of `length` bytes aligned to `align` (a power of two), or NO_MEMORY. */
  allocate(length: number, align: number): number {
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
      return start;
    }
    throw new VrdmaError(
      'NO_MEMORY',
      `no ${length} free bytes aligned to ${align} (region of ${this.size} bytes)`,
    );
  }

  release(offset: number): void {
    const length = this.used.get(offset);
    if (length === undefined)
      throw new VrdmaError('BAD_HANDLE', `no allocation at offset ${offset}`);
    this.used.delete(offset);
    const index = this.free.findIndex((s) => s.offset > offset);
    const at = index === -1 ? this.free.length : index;
    this.free.splice(at, 0, { offset, length });
    this.coalesce(Math.max(0, at - 1));
  }

  get bytesInUse(): number {
    let total = 0;
    for (const length of this.used.values()) total += length;
    return total;
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

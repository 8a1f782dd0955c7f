import { isVrdmaError } from '@vrdma/api-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RangeAllocator } from './allocator.js';
import { BufferAllocator } from './buffer-allocator.js';
import { createSharedRegion } from './shared-region.js';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isVrdmaError(error) ? error.code : 'not a VrdmaError';
  }
  return undefined;
}

describe('RangeAllocator', () => {
  it('aligns to the cache line by default and to the page on request', () => {
    const ranges = new RangeAllocator(1 << 16);
    expect(ranges.allocate(1)).toBe(0);
    expect(ranges.allocate(1)).toBe(64);
    expect(ranges.allocate(10, 4096)).toBe(4096);
  });

  it('reports exhaustion as NO_MEMORY and a double free as BAD_HANDLE naming the offset', () => {
    const ranges = new RangeAllocator(256);
    const a = ranges.allocate(200);
    expect(codeOf(() => ranges.allocate(100))).toBe('NO_MEMORY');
    ranges.release(a);
    expect(() => ranges.release(a)).toThrow(/offset 0: double free/);
    expect(codeOf(() => ranges.release(a))).toBe('BAD_HANDLE');
    expect(codeOf(() => ranges.release(12))).toBe('BAD_HANDLE');
    expect(codeOf(() => ranges.allocate(0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ranges.allocate(8, 3))).toBe('INVALID_ARGUMENT');
  });

  it('never overlaps, stays aligned and coalesces back to one span (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              length: fc.integer({ min: 1, max: 3000 }),
              align: fc.constantFrom(1, 8, 64, 4096),
            }),
            fc.nat(50),
          ),
          { maxLength: 80 },
        ),
        (steps) => {
          const size = 1 << 16;
          const ranges = new RangeAllocator(size);
          const live: Array<{ offset: number; length: number }> = [];
          for (const step of steps) {
            if (typeof step === 'number') {
              if (live.length === 0) continue;
              const [victim] = live.splice(step % live.length, 1);
              ranges.release(victim!.offset);
              continue;
            }
            try {
              const offset = ranges.allocate(step.length, step.align);
              expect(offset % step.align).toBe(0);
              expect(offset + step.length).toBeLessThanOrEqual(size);
              for (const other of live) {
                const apart =
                  offset + step.length <= other.offset || other.offset + other.length <= offset;
                expect(apart).toBe(true);
              }
              live.push({ offset, length: step.length });
            } catch (error) {
              expect(isVrdmaError(error, 'NO_MEMORY')).toBe(true);
            }
          }
          for (const { offset } of live) ranges.release(offset);
          expect(ranges.bytesInUse).toBe(0);
          expect(ranges.freeSpanCount).toBe(1);
          expect(ranges.largestFreeSpan).toBe(size);
        },
      ),
    );
  });
});

describe('BufferAllocator', () => {
  it('hands out views of the region itself, referenced by (region, offset, length)', () => {
    const region = createSharedRegion(3, 8192);
    const buffers = new BufferAllocator(region);
    const buffer = buffers.allocate(100, { align: 'page' });
    expect(buffer.ref).toEqual({ region: 3, offset: 0, length: 100 });
    buffer.bytes[5] = 42;
    expect(region.bytes[5]).toBe(42);
    expect(buffer.bytes.buffer).toBe(region.bytes.buffer);
    buffers.free(buffer);
    expect(codeOf(() => buffers.free(buffer))).toBe('BAD_HANDLE');
    expect(codeOf(() => buffers.free({ region: 4, offset: 0, length: 100 }))).toBe('BAD_HANDLE');
    expect(buffers.bytesFree).toBe(8192);
  });
});

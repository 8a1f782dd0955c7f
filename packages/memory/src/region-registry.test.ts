import { isVrdmaError } from '@vrdma/api-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegionRegistry } from './region-registry.js';
import { createSharedRegion } from './shared-region.js';

describe('RegionRegistry', () => {
  it("resolves a guest's references to views of its own regions", () => {
    const registry = new RegionRegistry();
    const region = createSharedRegion(1, 4096);
    registry.register(region);
    const view = registry.resolve({ region: 1, offset: 100, length: 50 });
    view[0] = 9;
    expect(region.bytes[100]).toBe(9);
    expect(registry.resolve({ region: 1, offset: 4096, length: 0 })).toHaveLength(0);
  });

  it("refuses another guest's region and anything out of bounds, with typed errors (property)", () => {
    const registry = new RegionRegistry();
    registry.register(createSharedRegion(1, 4096));
    const anything = fc.oneof(
      fc.integer({ min: -(2 ** 53), max: 2 ** 53 }),
      fc.double(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 32),
    );
    fc.assert(
      fc.property(anything, anything, anything, (region, offset, length) => {
        try {
          const view = registry.resolve({ region, offset, length });
          expect(region).toBe(1);
          expect(offset + length).toBeLessThanOrEqual(4096);
          // Numeric equality: a length of -0 is a length of 0 (toBe would tell them apart).
          expect(view.length === length, `${view.length} bytes for length ${length}`).toBe(true);
        } catch (error) {
          expect(isVrdmaError(error, 'BAD_HANDLE') || isVrdmaError(error, 'OUT_OF_RANGE')).toBe(
            true,
          );
        }
      }),
    );
  });
});

import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { createMemfdRegion, openMappedRegion } from './memfd-region.js';

describe('memfd regions', () => {
  it('are one memory seen through two mappings, Atomics included', () => {
    const region = createMemfdRegion(5, 8192);
    try {
      const other = openMappedRegion(5, region.path, 8192);
      region.bytes[100] = 0xab;
      expect(other.bytes[100]).toBe(0xab);
      Atomics.store(new Int32Array(other.bytes.buffer), 3, 77);
      expect(Atomics.load(new Int32Array(region.bytes.buffer), 3)).toBe(77);
    } finally {
      region.close();
    }
  });

  it('refuse to map more than the memory holds (no fault on touch)', () => {
    const region = createMemfdRegion(5, 4096);
    try {
      expect(() => openMappedRegion(5, region.path, 8192)).toThrow(/smaller than the mapping/);
    } finally {
      region.close();
    }
  });

  it('reject nonsense sizes with a typed error', () => {
    for (const size of [0, -1, 1.5, 2 ** 40]) {
      try {
        createMemfdRegion(1, size);
        expect.unreachable();
      } catch (error) {
        expect(isVrdmaError(error, 'INVALID_ARGUMENT')).toBe(true);
      }
    }
  });
});

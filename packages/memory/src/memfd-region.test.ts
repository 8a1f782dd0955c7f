import { readdirSync, readlinkSync } from 'node:fs';
import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { createMemfdRegion } from './memfd-region.js';
import { nativeMemory } from './native.js';

/** How many of this process's descriptors are the memfd called `name`. */
function memfdsNamed(name: string): number {
  let count = 0;
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${entry}`) === `/memfd:${name} (deleted)`) count++;
    } catch {
      // the directory's own descriptor, gone once listed
    }
  }
  return count;
}

describe('memfd regions', () => {
  it('are one memory seen through two mappings of their descriptor, Atomics included', () => {
    const region = createMemfdRegion(5, 8192);
    try {
      const other = new Uint8Array(nativeMemory().map(region.fd, 8192));
      region.bytes[100] = 0xab;
      expect(other[100]).toBe(0xab);
      Atomics.store(new Int32Array(other.buffer), 3, 77);
      expect(Atomics.load(new Int32Array(region.bytes.buffer), 3)).toBe(77);
    } finally {
      region.close();
    }
  });

  it('refuse to map more than the memory holds (no fault on touch)', () => {
    const region = createMemfdRegion(5, 4096);
    try {
      expect(() => nativeMemory().map(region.fd, 8192)).toThrow(/smaller than the mapping/);
    } finally {
      region.close();
    }
  });

  it('are reachable only through their descriptor, and leave none once closed', () => {
    const region = createMemfdRegion(6, 4096, 'vrdma-only-fd');
    expect(Object.keys(region).sort()).toEqual(['bytes', 'close', 'fd', 'id', 'size']);
    expect(memfdsNamed('vrdma-only-fd')).toBe(1);
    region.close();
    region.close(); // idempotent
    expect(region.fd).toBe(-1);
    expect(memfdsNamed('vrdma-only-fd')).toBe(0);
    region.bytes[0] = 1; // the mapping outlives the descriptor
    expect(region.bytes[0]).toBe(1);
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

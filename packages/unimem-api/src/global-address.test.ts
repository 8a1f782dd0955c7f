import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_NODE_OFFSET,
  makeGlobalAddress,
  nodeOf,
  nodeOffsetOf,
  offsetAddress,
} from './global-address.js';

describe('global addresses', () => {
  it('keep node id and a 48-bit offset exactly, with no float precision loss', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.bigInt({ min: 0n, max: MAX_NODE_OFFSET }),
        (node, offset) => {
          const address = makeGlobalAddress(node, offset);
          expect(nodeOf(address)).toBe(node);
          expect(nodeOffsetOf(address)).toBe(offset);
        },
      ),
    );
    const top = makeGlobalAddress(0xffff, MAX_NODE_OFFSET);
    expect(top).toBe((1n << 64n) - 1n);
    expect(nodeOffsetOf(offsetAddress(makeGlobalAddress(3, 2n ** 47n), 1))).toBe(2n ** 47n + 1n);
  });

  it('refuse node ids and offsets outside their fields', () => {
    expect(() => makeGlobalAddress(0x10000, 0)).toThrow(RangeError);
    expect(() => makeGlobalAddress(-1, 0)).toThrow(RangeError);
    expect(() => makeGlobalAddress(1, MAX_NODE_OFFSET + 1n)).toThrow(RangeError);
    expect(() => offsetAddress(makeGlobalAddress(1, MAX_NODE_OFFSET), 1)).toThrow(RangeError);
  });
});

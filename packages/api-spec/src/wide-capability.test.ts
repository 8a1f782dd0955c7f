import { describe, expect, it } from 'vitest';
import { describeSchema } from './describe-schema.js';
import { fixedLayoutOf } from './fixed-layout.js';
import { capability, MAX_WIDE_CAPABILITY } from './kinds.js';

const layoutOf = (bits?: 32 | 53) =>
  fixedLayoutOf(describeSchema(capability('Key', bits ? { bits } : {}), 'key'), 'key');

describe('capability widths', () => {
  it('keeps a 32-bit capability in 4 bytes, and carries a 53-bit one exactly in 8', () => {
    expect(layoutOf().size).toBe(4);
    const wide = layoutOf(53);
    expect(wide.size).toBe(8);
    const view = new DataView(new ArrayBuffer(8));
    for (const value of [0, 1, 2 ** 32, 2 ** 32 + 1, 0x1f_ffff_ffff_fffe, MAX_WIDE_CAPABILITY]) {
      wide.write(view, 0, value);
      expect(wide.read(view, 0)).toBe(value);
    }
  });

  it('refuses what a 53-bit capability cannot hold, reading or writing', () => {
    const wide = layoutOf(53);
    const view = new DataView(new ArrayBuffer(8));
    expect(() => wide.write(view, 0, 2 ** 53)).toThrow(/outside/);
    expect(() => wide.write(view, 0, 1.5)).toThrow(/integer/);
    view.setFloat64(0, -1, true);
    expect(() => wide.read(view, 0)).toThrow(/outside/);
    expect(() => layoutOf().write(view, 0, 2 ** 32)).toThrow();
  });

  it('puts the width in the schema node, so that it is part of a spec fingerprint', () => {
    expect(describeSchema(capability('Key'), 'key')).toMatchObject({ max: 0xffff_ffff });
    expect(describeSchema(capability('Key', { bits: 53 }), 'key')).toMatchObject({
      max: MAX_WIDE_CAPABILITY,
    });
  });
});

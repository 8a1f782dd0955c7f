import { describe, expect, it } from 'vitest';
import { handle } from './kinds.js';

describe('handles', () => {
  it('are positive 32-bit integers at run time', () => {
    const channel = handle('Channel');
    expect(channel.safeParse(1).success).toBe(true);
    expect(channel.safeParse(0xffff_ffff).success).toBe(true);
    for (const bad of [0, -1, 1.5, 2 ** 32, '1', Number.NaN])
      expect(channel.safeParse(bad).success).toBe(false);
  });
});

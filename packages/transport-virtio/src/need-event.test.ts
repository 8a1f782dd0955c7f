import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vringNeedEvent } from './need-event.js';

describe('vring_need_event', () => {
  it('fires when the index moves past the event index', () => {
    expect(vringNeedEvent(5, 6, 5)).toBe(true); // exactly the event
    expect(vringNeedEvent(5, 10, 3)).toBe(true); // passed it within a batch
    expect(vringNeedEvent(5, 5, 3)).toBe(false); // not reached yet
    expect(vringNeedEvent(5, 12, 6)).toBe(false); // already passed before
    expect(vringNeedEvent(5, 5, 5)).toBe(false); // no movement
  });

  it('works across the 65535 → 0 wrap', () => {
    expect(vringNeedEvent(65535, 0, 65535)).toBe(true);
    expect(vringNeedEvent(65535, 3, 65534)).toBe(true);
    expect(vringNeedEvent(0, 1, 65535)).toBe(true);
    expect(vringNeedEvent(1, 1, 65535)).toBe(false);
    expect(vringNeedEvent(65534, 2, 65535)).toBe(false);
    expect(vringNeedEvent(65535, 65535, 65530)).toBe(false);
  });

  it('is true exactly when the event index lies in [old, new) modulo 65536', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(u16, u16, fc.integer({ min: 0, max: 0x7fff }), (event, old, step) => {
        const next = (old + step) & 0xffff;
        const crossed = ((event - old) & 0xffff) < step;
        expect(vringNeedEvent(event, next, old)).toBe(crossed);
      }),
      { numRuns: 2000 },
    );
  });
});

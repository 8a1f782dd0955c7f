import { describe, expect, it } from 'vitest';
import { MAX_WARM_UP_ROUNDS, meanCallCosts, median } from './call-costs.js';

describe('meanCallCosts', () => {
  it('times only the rounds after the warm-up: three times as many, at most MAX_WARM_UP_ROUNDS', async () => {
    for (const rounds of [4, 2 * MAX_WARM_UP_ROUNDS]) {
      let runs = 0;
      let timed = 0;
      const costs = await meanCallCosts(['a', 'b'] as const, rounds, async (time) => {
        runs++;
        await time('a', async () => {
          timed++;
        });
        await time('b', () => new Promise((resolve) => setImmediate(resolve)));
      });
      expect(runs).toBe(rounds + Math.min(3 * rounds, MAX_WARM_UP_ROUNDS));
      expect(timed).toBe(runs);
      for (const fn of ['a', 'b'] as const) {
        expect(costs.mean[fn]).toBeGreaterThan(0);
        expect(costs.median[fn]).toBeGreaterThan(0);
      }
    }
  });

  it('gives the median of the calls, whatever the tail', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([1, 2, 3, 1000])).toBe(2.5);
  });
});

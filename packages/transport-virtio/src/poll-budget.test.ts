import { describe, expect, it } from 'vitest';
import { MIN_POLL_BUDGET_US, PollBudget } from './poll-budget.js';

describe('the adaptive poll window', () => {
  it('starts at its ceiling and halves, down to the floor, while work comes after the ceiling', () => {
    const budget = new PollBudget(100);
    expect(budget.us).toBe(100);
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      budget.afterSleep(5_000); // a guest calling every 5 ms: polling would find nothing
      seen.push(budget.us);
    }
    expect(seen).toEqual([50, 25, 12.5, 6.25, 4, 4, 4, 4]);
    expect(MIN_POLL_BUDGET_US).toBe(4);
  });

  it('doubles, up to the ceiling, while work comes after the window but before the ceiling', () => {
    const budget = new PollBudget(100);
    for (let i = 0; i < 6; i++) budget.afterSleep(1_000);
    expect(budget.us).toBe(4);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      budget.afterSleep(30); // the peer answers in 30 µs: a window that long catches it
      seen.push(budget.us);
    }
    // 4 → 8 → 16 → 32: from then on the answer comes inside the window, by polling, and only
    // a doorbell (work after a sleep) would move the window again.
    expect(seen).toEqual([8, 16, 32, 32, 32, 32]);
    budget.afterSleep(90);
    expect(budget.us).toBe(64);
    budget.afterSleep(99);
    expect(budget.us).toBe(100);
    budget.afterSleep(100);
    expect(budget.us).toBe(100);
  });

  it('with a ceiling of 0, never polls', () => {
    const budget = new PollBudget(0);
    budget.afterSleep(10);
    budget.afterSleep(1_000_000);
    expect(budget.us).toBe(0);
    expect(() => new PollBudget(-1)).toThrow(RangeError);
  });

  it('drops to the floor when the cores turned out oversubscribed', () => {
    const budget = new PollBudget(200);
    budget.contended();
    expect(budget.us).toBe(MIN_POLL_BUDGET_US);
    budget.afterSleep(50); // and grows back only as polling proves itself
    expect(budget.us).toBe(8);
  });
});

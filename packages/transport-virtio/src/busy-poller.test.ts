import { describe, expect, it } from 'vitest';
import { BusyPoller, type PollSide, PREEMPTED_SLICE_US, SPIN_LOOKS } from './busy-poller.js';
import { PollBudget } from './poll-budget.js';

/** A side with nothing to take, whose looks the test scripts; it counts what the loop does. */
function scriptedSide(look: (n: number) => boolean) {
  let looks = 0;
  const calls = { quiet: 0, rearm: 0, take: 0, failed: 0 };
  const side: PollSide = {
    wanted: () => true,
    ready: () => look(looks++),
    take: () => {
      calls.take++;
      return 0;
    },
    quiet: () => {
      calls.quiet++;
    },
    rearm: () => {
      calls.rearm++;
      return false;
    },
    failed: () => {
      calls.failed++;
    },
  };
  return { side, calls };
}

/** Busy-waits: stands for the OS running something else on this core mid-look. */
function holdTheCore(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until) {}
}

describe('the poll loop', () => {
  it('gives the core back when the OS took it mid-look: the window ends, and halves', () => {
    const { side, calls } = scriptedSide((n) => {
      if (n === 0) holdTheCore(4 * PREEMPTED_SLICE_US);
      return false;
    });
    const poller = new BusyPoller(side, new PollBudget(10_000_000));
    poller.expectAnswer(); // the window is wide open: only the preemption can end it
    // The loop ran synchronously up to its end: no event-loop turn was needed.
    expect(poller.state).toMatchObject({
      polling: false,
      preempted: 1,
      looks: SPIN_LOOKS,
      budgetUs: 5_000_000,
    });
    expect(calls).toEqual({ quiet: 1, take: 1, rearm: 1, failed: 0 });
  });

  it('stops when a look sees work that taking does not find, instead of spinning on it', () => {
    // Only a peer scribbling on the ring gets here: ready() says yes, take() finds nothing.
    const { side, calls } = scriptedSide(() => true);
    const poller = new BusyPoller(side, new PollBudget(10_000_000));
    poller.expectAnswer();
    expect(poller.state).toMatchObject({ polling: false, looks: 1, caught: 0 });
    expect(calls).toEqual({ quiet: 1, take: 2, rearm: 1, failed: 0 });
  });
});

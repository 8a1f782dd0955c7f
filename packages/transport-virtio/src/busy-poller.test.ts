import { ContentionGuard, HOLD_RUNS, type RunDelayClock } from '@vrdma/memory';
import { describe, expect, it } from 'vitest';
import { BusyPoller, type PollSide, SPIN_LOOKS } from './busy-poller.js';
import { untilPollingStops } from './echo-fixture.js';
import { MIN_POLL_BUDGET_US, PollBudget } from './poll-budget.js';

/** A window no test outlasts: only what the test arranges ends it. */
const WIDE_OPEN_US = 10_000_000;

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

/** A run-queue clock the test sets: how long this thread has waited for a CPU, in µs. */
function scriptedWaits() {
  const clock = { waitedUs: 0, reads: 0, releases: 0 };
  const waits: RunDelayClock = {
    read: () => {
      clock.reads++;
      return clock.waitedUs;
    },
    release: () => {
      clock.releases++;
    },
  };
  return { clock, guard: new ContentionGuard(waits) };
}

describe('the poll loop', () => {
  it('stops polling when it waited for a CPU meanwhile, and holds off for a while', async () => {
    const { side, calls } = scriptedSide((n) => {
      if (n === 3 * SPIN_LOOKS) waits.clock.waitedUs += 1_000; // the OS ran others for 1 ms
      return false;
    });
    const waits = scriptedWaits();
    const poller = new BusyPoller(side, new PollBudget(WIDE_OPEN_US), waits.guard);
    poller.expectAnswer();
    await untilPollingStops(poller.state); // the window is wide open: only contention ends it
    expect(poller.state).toMatchObject({ contended: 1, budgetUs: MIN_POLL_BUDGET_US });
    expect(poller.state.looks).toBeGreaterThanOrEqual(3 * SPIN_LOOKS);
    expect(calls.rearm).toBe(1); // the peer's doorbell is back on
    expect(waits.clock.releases).toBe(0); // the clock stays at hand for the next run
    // The next HOLD_RUNS waits for an answer go by without polling; then it polls again.
    for (let i = 0; i < HOLD_RUNS; i++) {
      expect(poller.enabled).toBe(false);
      poller.expectAnswer();
    }
    expect(poller.state.runs).toBe(1);
    expect(poller.enabled).toBe(true);
    poller.expectAnswer(); // polls again, in the smallest window
    expect(poller.state.runs).toBe(2);
    await untilPollingStops(poller.state);
    poller.stop(); // its transport closed: the clock is let go, and nothing polls any more
    expect(waits.clock.releases).toBe(1);
    poller.expectAnswer();
    expect(poller.state).toMatchObject({ polling: false, runs: 2 });
  });

  it('polls on, however long it waited for a CPU, without a guard', async () => {
    let looks = 0;
    const { side } = scriptedSide(() => ++looks > 20 * SPIN_LOOKS); // then "work" ends it
    const poller = new BusyPoller(side, new PollBudget(WIDE_OPEN_US), null);
    poller.expectAnswer();
    await untilPollingStops(poller.state);
    expect(poller.state).toMatchObject({ contended: 0, looks: 20 * SPIN_LOOKS + 1 });
  });

  it('judges a sleep from before it takes: the reply a take sends at once is not the next work', async () => {
    // A device whose handler answers at once replies, and so starts its next window, from
    // inside take: measured after the take, every gap between calls looked like no gap.
    let poller: BusyPoller | undefined;
    let waiting = 0;
    const side: PollSide = {
      wanted: () => true,
      ready: () => waiting > 0,
      take: () => {
        if (waiting === 0) return 0;
        waiting = 0;
        poller!.expectAnswer(); // the reply
        return 1;
      },
      quiet: () => {},
      rearm: () => waiting > 0,
      failed: () => {},
    };
    poller = new BusyPoller(side, new PollBudget(100), null);
    const callAfterSleep = async () => {
      await untilPollingStops(poller!.state);
      await new Promise((resolve) => setTimeout(resolve, 5)); // far longer than the ceiling
      waiting = 1;
      poller!.doorbell();
    };
    await callAfterSleep(); // the first work: nothing to judge yet
    for (let i = 0; i < 3; i++) await callAfterSleep();
    await untilPollingStops(poller.state);
    expect(poller.state).toMatchObject({ runs: 4, caught: 0, budgetUs: 100 / 8 });
  });

  it('stops when a look sees work that taking does not find, instead of spinning on it', () => {
    // Only a peer scribbling on the ring gets here: ready() says yes, take() finds nothing.
    const { side, calls } = scriptedSide(() => true);
    const poller = new BusyPoller(side, new PollBudget(WIDE_OPEN_US), scriptedWaits().guard);
    poller.expectAnswer();
    expect(poller.state).toMatchObject({ polling: false, looks: 1, caught: 0 });
    expect(calls).toEqual({ quiet: 1, take: 2, rearm: 1, failed: 0 });
  });
});

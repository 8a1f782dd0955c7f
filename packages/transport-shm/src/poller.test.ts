import {
  atomicsWakeChannel,
  ContentionGuard,
  Doorbell,
  HOLD_RUNS,
  type RunDelayClock,
  SLEEPING,
} from '@vrdma/memory';
import { describe, expect, it } from 'vitest';
import { MIN_SPIN_BUDGET_US, Poller } from './poller.js';

describe('Poller', () => {
  it('shrinks its spin budget while looking keeps ending in sleep, down to a floor', async () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const doorbell = new Doorbell(words, 0, 1, atomicsWakeChannel(words, 0, 1));
    let active = true;
    let looks = 0;
    const poller = new Poller(
      {
        step: () => false,
        hasWork: () => {
          looks++;
          return false;
        },
        active: () => active,
        failed: () => {},
      },
      doorbell,
      { spinBudgetUs: 512, sleepTimeoutMs: 1 },
      // No contention guard: on a busy machine it holds polling off (its own tests cover that),
      // and held idle periods leave the budget as it is.
      null,
    );
    expect(poller.spinBudgetUs).toBe(512);
    poller.kick();
    // Bounded by the poller's idle periods, not by time: each one ends in a sleep and halves
    // the budget (512 → 4 takes 7), however slowly a busy machine runs them.
    while (poller.spinBudgetUs > MIN_SPIN_BUDGET_US && poller.counters.sleeps < 64) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(poller.spinBudgetUs).toBe(MIN_SPIN_BUDGET_US);
    expect(looks).toBeGreaterThan(0);
    active = false;
    doorbell.close();
  });
});

/** A run-queue clock the test sets: each read says the thread waited `stepUs` more. */
function scriptedClock(stepUs: number) {
  const clock = { waitedUs: 0, reads: 0, releases: 0 };
  const waits: RunDelayClock = {
    read: () => {
      clock.reads++;
      clock.waitedUs += stepUs;
      return clock.waitedUs;
    },
    release: () => {
      clock.releases++;
    },
  };
  return { clock, guard: new ContentionGuard(waits) };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A guest waiting for `count` completions that its peer writes one at a time, each only once
 * the guest announced sleep (so every completion is one wait), ringing the doorbell as a host
 * does. Returns the looks (hasWork calls) of each wait, counted up to its announced sleep.
 */
async function waitForCompletions(count: number, guard: ContentionGuard | null) {
  const words = new Int32Array(new SharedArrayBuffer(16));
  const mine = new Doorbell(words, 0, 1, atomicsWakeChannel(words, 0, 1));
  const peer = new Doorbell(words, 1, 0, atomicsWakeChannel(words, 1, 0));
  let written = 0;
  let taken = 0;
  let looks = 0;
  const poller = new Poller(
    {
      step: () => {
        if (taken === written) return false;
        taken++;
        return true;
      },
      hasWork: () => {
        looks++;
        return taken < written;
      },
      active: () => taken < count,
      failed: (error) => {
        throw error;
      },
    },
    mine,
    { sleepTimeoutMs: 60_000 },
    guard,
  );
  const looksPerWait: number[] = [];
  poller.kick();
  while (written < count) {
    while (Atomics.load(words, 0) !== SLEEPING) await nextTurn();
    looksPerWait.push(looks);
    looks = 0;
    written++;
    peer.ringIfSleeping();
    while (Atomics.load(words, 0) === SLEEPING) await nextTurn();
  }
  while (taken < count) await nextTurn();
  poller.stop();
  mine.close();
  peer.close();
  return { looksPerWait, taken, counters: poller.counters, rings: peer.rings };
}

describe('Poller under contention', () => {
  const COMPLETIONS = 3 * HOLD_RUNS;

  it('sleeps on the doorbell at once while the thread waits for a CPU, and delivers everything', async () => {
    const { clock, guard } = scriptedClock(1_000_000); // every sample: a second on the run queue
    const { looksPerWait, taken, counters, rings } = await waitForCompletions(COMPLETIONS, guard);
    expect(taken).toBe(COMPLETIONS);
    expect(rings).toBe(COMPLETIONS); // each completion woke a sleeper
    expect(counters.contended).toBeGreaterThan(0);
    expect(counters.heldSleeps).toBeGreaterThan(0);
    // The first wait spins until the guard's second sample; every later one has only the
    // doorbell's own look before it sleeps.
    expect(looksPerWait.slice(1).every((n) => n === 1)).toBe(true);
    expect(looksPerWait[0]).toBeGreaterThan(1);
    expect(clock.releases).toBe(1); // stop() let go of the clock
  });

  it('spins as before when the thread never waits for a CPU', async () => {
    const quiet = scriptedClock(0);
    const guarded = await waitForCompletions(COMPLETIONS, quiet.guard);
    expect(guarded.taken).toBe(COMPLETIONS);
    expect(guarded.counters.contended).toBe(0);
    expect(guarded.counters.heldSleeps).toBe(0);
    expect(quiet.clock.reads).toBeGreaterThan(0);
    // Each wait looks at least one burst (spinIterations) before it sleeps, as without a guard.
    const unguarded = await waitForCompletions(COMPLETIONS, null);
    expect(unguarded.taken).toBe(COMPLETIONS);
    expect(guarded.looksPerWait.every((n) => n > 256)).toBe(true);
    expect(unguarded.looksPerWait.every((n) => n > 256)).toBe(true);
  });

  it("keeps the host's busy mode (one look per event-loop turn) under contention", async () => {
    const { guard } = scriptedClock(1_000_000);
    const words = new Int32Array(new SharedArrayBuffer(16));
    const doorbell = new Doorbell(words, 0, 1, atomicsWakeChannel(words, 0, 1));
    let busyTurns = 64;
    let looks = 0;
    let active = true;
    const poller = new Poller(
      {
        step: () => false,
        hasWork: () => {
          looks++;
          return false;
        },
        active: () => active,
        busy: () => busyTurns-- > 0,
        failed: () => {},
      },
      doorbell,
      { sleepTimeoutMs: 1 },
      guard,
    );
    poller.kick();
    while (busyTurns > 0) await nextTurn();
    expect(poller.counters.sleeps).toBe(0); // busy: it never slept, however busy the cores
    expect(looks).toBe(0);
    while (poller.counters.sleeps === 0) await nextTurn();
    active = false;
    poller.stop();
    doorbell.close();
  });
});

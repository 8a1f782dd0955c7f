import { describe, expect, it } from 'vitest';
import {
  CONTENDED_WAIT_US,
  ContentionGuard,
  HOLD_RUNS,
  WAIT_SAMPLE_US,
} from './contention-guard.js';

function guardWithWaits() {
  const clock = { waitedUs: 0, reads: 0, releases: 0 };
  const guard = new ContentionGuard({
    read: () => {
      clock.reads++;
      return clock.waitedUs;
    },
    release: () => {
      clock.releases++;
    },
  });
  return { clock, guard };
}

describe('the contention guard', () => {
  it('sees a run-queue wait between two samples, sampling at most every WAIT_SAMPLE_US', () => {
    const { clock, guard } = guardWithWaits();
    expect(guard.contended(0)).toBe(false); // the baseline
    clock.waitedUs += 10; // a kernel thread's blip
    expect(guard.contended(WAIT_SAMPLE_US)).toBe(false);
    clock.waitedUs += CONTENDED_WAIT_US + 1;
    expect(guard.contended(WAIT_SAMPLE_US + 1)).toBe(false); // too soon: not even read
    expect(clock.reads).toBe(2);
    expect(guard.contended(2 * WAIT_SAMPLE_US)).toBe(true);
    clock.waitedUs += CONTENDED_WAIT_US + 1;
    expect(guard.contended(2 * WAIT_SAMPLE_US + 1, true)).toBe(true); // the last look reads
    guard.endRun();
    expect(clock.releases).toBe(0); // the clock stays at hand from run to run
  });

  it('lets go of its clock once disposed, and samples no more', () => {
    const { clock, guard } = guardWithWaits();
    guard.contended(0);
    guard.endRun();
    guard.dispose();
    expect(clock.releases).toBe(1);
    clock.waitedUs += 10 * CONTENDED_WAIT_US;
    expect(guard.contended(10 * WAIT_SAMPLE_US, true)).toBe(false);
    expect(clock.reads).toBe(1);
  });

  it('sees, when a run starts, the wait on its way back from the doorbell', () => {
    const { clock, guard } = guardWithWaits();
    guard.contended(0, true);
    guard.endRun();
    // Asleep on the doorbell for 1 ms, then runnable but kept off the cores for 200 µs.
    clock.waitedUs += 200;
    expect(guard.contended(1_200)).toBe(true);
    guard.endRun();
    // Ten seconds later, with waits of 300 µs scattered over them: no sign of contention.
    clock.waitedUs += 300;
    expect(guard.contended(10_001_200)).toBe(false);
  });

  it('holds polling for HOLD_RUNS runs', () => {
    const { guard } = guardWithWaits();
    guard.hold();
    let held = 0;
    while (guard.holding) {
      guard.skip();
      held++;
    }
    expect(held).toBe(HOLD_RUNS);
  });
});

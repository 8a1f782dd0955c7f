import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type RunDelayClock, schedstatRunDelay } from './run-delay.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** The clock's first reading: the file opens asynchronously, so it may take some turns. */
async function firstReading(clock: RunDelayClock): Promise<number | undefined> {
  for (let turn = 0; turn < 10_000; turn++) {
    const waited = clock.read();
    if (waited !== undefined) return waited;
    await nextTurn();
  }
  return undefined;
}

/** Descriptors of this process open on this thread's scheduler statistics. */
function mySchedstatDescriptors(): number {
  const mine = `/proc/${readlinkSync('/proc/thread-self')}/schedstat`;
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === mine;
    } catch {
      return false;
    }
  }).length;
}

/** Turns until `count()` is `expected` (closes finish asynchronously); then the count. */
async function settle(count: () => number, expected: number): Promise<number> {
  for (let turn = 0; turn < 10_000 && count() !== expected; turn++) await nextTurn();
  return count();
}

describe('the run-queue clock', () => {
  it("reads this thread's run-queue wait on Linux", async () => {
    const waits = schedstatRunDelay();
    const first = await firstReading(waits);
    if (process.platform !== 'linux') {
      expect(first).toBeUndefined();
      waits.release();
      return;
    }
    expect(first).toBeGreaterThanOrEqual(0);
    expect(waits.read()).toBeGreaterThanOrEqual(first!);
    waits.release();
  });

  it('opens the file once for all clocks of a thread, and closes it when the last lets go', async () => {
    if (!existsSync('/proc/thread-self/schedstat')) {
      throw new Error('needs /proc/thread-self/schedstat (Linux)');
    }
    await settle(mySchedstatDescriptors, 0); // the test before let go of its clock
    const a = schedstatRunDelay();
    const b = schedstatRunDelay();
    expect(await firstReading(a)).toBeGreaterThanOrEqual(0);
    expect(b.read()).toBeGreaterThanOrEqual(0);
    expect(mySchedstatDescriptors()).toBe(1);
    a.release();
    a.release(); // twice is once
    expect(b.read()).toBeGreaterThanOrEqual(0); // b still holds it
    expect(mySchedstatDescriptors()).toBe(1);
    b.release();
    expect(await settle(mySchedstatDescriptors, 0)).toBe(0);
  });
});

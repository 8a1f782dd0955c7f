import { VrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { FairScheduler } from './fair-scheduler.js';

const MiB = 1024 * 1024;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('FairScheduler.runNow: a task that finds nothing waiting starts at once', () => {
  it('gives back the task’s own value, with no promise, and counts its bytes', () => {
    const scheduler = new FairScheduler(100);
    const stats = scheduler.addFlow(1);
    const value = scheduler.runNow(1, 64, () => 'taken', { held: true });
    expect(value).toBe('taken');
    expect(stats).toEqual({ bytes: 64, contendedBytes: 0 });
    expect(scheduler.held).toBe(64);
  });

  it('throws what the task throws, and refunds it: nothing counted, nothing held', () => {
    const scheduler = new FairScheduler(100);
    const stats = scheduler.addFlow(1);
    expect(() =>
      scheduler.runNow(
        1,
        64,
        () => {
          throw new VrdmaError('TOO_LONG', 'refused');
        },
        { held: true },
      ),
    ).toThrow('refused');
    expect(stats.bytes).toBe(0);
    expect(scheduler.held).toBe(0);
    // The refund left the guest its credit: a guest behind it in debt would not be.
    expect(scheduler.runNow(1, 64, () => 'next')).toBe('next');
  });

  it('throws its refusals: an unknown guest, a cost that is not bytes, a full queue', async () => {
    const scheduler = new FairScheduler(100, { maxQueued: 1 });
    expect(() => scheduler.runNow(9, 1, () => 0)).toThrow(/not scheduled/);
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    expect(() => scheduler.runNow(1, Number.NaN, () => 0)).toThrow(/finite/);
    // Behind guest 2's backlog, guest 1's task waits; a second one is over its quota.
    const backlog = scheduler.run(2, 10, () => 0);
    const waiting = scheduler.runNow(1, 10, () => 'waited');
    expect(() => scheduler.runNow(1, 10, () => 0)).toThrow(
      expect.objectContaining({ code: 'QUOTA_EXCEEDED' }),
    );
    await backlog;
    expect(await waiting).toBe('waited');
  });

  it('queues behind another guest’s backlog, which is served first, round by round', async () => {
    const scheduler = new FairScheduler(100);
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    const order: string[] = [];
    const backlog = [0, 1, 2].map((i) => scheduler.run(2, 100, () => order.push(`b${i}`)));
    const late = scheduler.runNow(1, 100, () => order.push('a'));
    expect(late).toBeInstanceOf(Promise);
    expect(order).toEqual([]);
    await Promise.all([...backlog, late]);
    // In the rounds of the backlog: one quantum each, not after all of it.
    expect(order).toEqual(['b0', 'a', 'b1', 'b2']);
  });

  it('runs tasks one at a time: while one goes on, the next queues, and starts once it settles', async () => {
    const scheduler = new FairScheduler(100);
    scheduler.addFlow(1);
    let finish!: () => void;
    const events: string[] = [];
    const slow = scheduler.runNow(1, 10, async () => {
      events.push('slow starts');
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      events.push('slow ends');
      return 'slow';
    });
    const next = scheduler.runNow(1, 10, () => events.push('next starts'));
    expect(next).toBeInstanceOf(Promise);
    await nextTurn();
    expect(events).toEqual(['slow starts']);
    finish();
    expect(await slow).toBe('slow');
    await next;
    expect(events).toEqual(['slow starts', 'slow ends', 'next starts']);
    // And with nothing left waiting, the next task starts at once again.
    expect(scheduler.runNow(1, 10, () => 'at once')).toBe('at once');
  });

  it('queues a task the engine’s window has no room for, until the engine finishes some', async () => {
    const scheduler = new FairScheduler(MiB, { window: 2 * MiB });
    scheduler.addFlow(1);
    expect(scheduler.runNow(1, MiB, () => 1, { held: true })).toBe(1);
    expect(scheduler.runNow(1, MiB, () => 2, { held: true })).toBe(2);
    let started = false;
    const third = scheduler.runNow(
      1,
      MiB,
      () => {
        started = true;
        return 3;
      },
      { held: true },
    );
    expect(third).toBeInstanceOf(Promise);
    await nextTurn();
    expect(started).toBe(false);
    scheduler.finished(1, MiB);
    expect(await third).toBe(3);
  });

  it('lets the event loop turn after `tasksPerTurn` tasks in a row', async () => {
    const scheduler = new FairScheduler(100, { tasksPerTurn: 4 });
    scheduler.addFlow(1);
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const values = Array.from({ length: 4 }, (_, i) => scheduler.runNow(1, 1, () => i));
    expect(values).toEqual([0, 1, 2, 3]);
    const fifth = scheduler.runNow(1, 1, () => turned);
    expect(fifth).toBeInstanceOf(Promise);
    // It started only after the turn it waited for.
    expect(await fifth).toBe(true);
    expect(scheduler.turns).toBe(1);
  });
});

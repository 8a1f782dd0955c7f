import { VrdmaError } from '@vrdma/api-spec';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FairScheduler, type FlowStats } from './fair-scheduler.js';
import { codeOf } from './testing/code-of.js';

const KiB = 1024;
const MiB = 1024 * KiB;

afterEach(() => {
  vi.restoreAllMocks();
});

function record(
  scheduler: FairScheduler,
  order: string[],
  flow: number,
  name: string,
  cost: number,
) {
  return scheduler.run(flow, cost, () => {
    order.push(name);
    return name;
  });
}

describe('FairScheduler', () => {
  it('alternates backlogged guests by bytes, whatever their backlog', async () => {
    const scheduler = new FairScheduler(100);
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    const order: string[] = [];
    const runs = [
      ...Array.from({ length: 6 }, (_, i) => record(scheduler, order, 1, `a${i}`, 100)),
      ...Array.from({ length: 2 }, (_, i) => record(scheduler, order, 2, `b${i}`, 100)),
    ];
    await Promise.all(runs);
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('serves weights in proportion', async () => {
    const weighted = new FairScheduler(100);
    weighted.addFlow(1, 2);
    weighted.addFlow(2, 1);
    const order: string[] = [];
    await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => record(weighted, order, 1, `a${i}`, 100)),
      ...Array.from({ length: 2 }, (_, i) => record(weighted, order, 2, `b${i}`, 100)),
    ]);
    expect(order).toEqual(['a0', 'a1', 'b0', 'a2', 'a3', 'b1']);
  });

  it('starts a large task as soon as its guest has credit, and makes the guest repay the debt before its next one', async () => {
    const sizes = new FairScheduler(100);
    sizes.addFlow(1);
    sizes.addFlow(2);
    const bySize: string[] = [];
    await Promise.all([
      record(sizes, bySize, 1, 'big', 300),
      record(sizes, bySize, 1, 'after', 100),
      ...Array.from({ length: 5 }, (_, i) => record(sizes, bySize, 2, `s${i}`, 100)),
    ]);
    // big leaves guest 1 at -200: three rounds of guest 2 (300 bytes) before it starts again.
    expect(bySize).toEqual(['big', 's0', 's1', 's2', 'after', 's3', 's4']);
  });

  it('fails the queued tasks of a removed guest, runs nothing of it again, and keeps serving the others', async () => {
    const scheduler = new FairScheduler(10);
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    const order: string[] = [];
    const gone = Array.from({ length: 3 }, (_, i) => record(scheduler, order, 1, `a${i}`, 10));
    const kept = Array.from({ length: 3 }, (_, i) => record(scheduler, order, 2, `b${i}`, 10));
    scheduler.removeFlow(1, new VrdmaError('DISCONNECTED', 'crashed'));
    const results = await Promise.allSettled([...gone, ...kept]);
    expect(
      results
        .slice(0, 3)
        .every((r) => r.status === 'rejected' && (r.reason as VrdmaError).code === 'DISCONNECTED'),
    ).toBe(true);
    expect(order).toEqual(['b0', 'b1', 'b2']);
    await expect(record(scheduler, order, 1, 'late', 1)).rejects.toMatchObject({
      code: 'DISCONNECTED',
    });
    expect(scheduler.backlog).toBe(0);
  });

  it('passes a failing task’s error to its caller only', async () => {
    const scheduler = new FairScheduler(10);
    scheduler.addFlow(1);
    const failing = scheduler.run(1, 1, () => {
      throw new VrdmaError('CHANNEL_FULL', 'full');
    });
    const fine = scheduler.run(1, 1, () => 7);
    await expect(failing).rejects.toMatchObject({ code: 'CHANNEL_FULL' });
    expect(await fine).toBe(7);
  });

  it('counts the bytes it starts, and apart those started while another guest was backlogged', async () => {
    const scheduler = new FairScheduler(100);
    const first = scheduler.addFlow(1);
    const second = scheduler.addFlow(2);
    const order: string[] = [];
    await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => record(scheduler, order, 1, `a${i}`, 100)),
      record(scheduler, order, 2, 'b0', 60),
    ]);
    // Round 1 has both guests backlogged; a1..a3 run alone.
    expect(order).toEqual(['a0', 'b0', 'a1', 'a2', 'a3']);
    expect(first).toEqual({ bytes: 400, contendedBytes: 100 });
    expect(second).toEqual({ bytes: 60, contendedBytes: 60 });
    await record(scheduler, order, 2, 'b1', 40);
    expect(second).toEqual({ bytes: 100, contendedBytes: 60 });
  });
});

describe('FairScheduler, by budget', () => {
  /**
   * Two guests, backlogged from the start, one posting `small`-byte tasks, the other
   * `large`-byte ones, `count` of each. Returns the first guest's share of the bytes started
   * while both were backlogged, by the scheduler's own counts.
   */
  async function contendedShare(
    first: { weight: number; cost: number; count: number },
    second: { weight: number; cost: number; count: number },
  ): Promise<{ share: number; a: FlowStats; b: FlowStats }> {
    const scheduler = new FairScheduler(256 * KiB);
    const a = scheduler.addFlow(1, first.weight);
    const b = scheduler.addFlow(2, second.weight);
    await Promise.all([
      ...Array.from({ length: first.count }, () => scheduler.run(1, first.cost, () => {})),
      ...Array.from({ length: second.count }, () => scheduler.run(2, second.cost, () => {})),
    ]);
    return { share: a.contendedBytes / (a.contendedBytes + b.contendedBytes), a, b };
  }

  it('gives equal weights equal bytes while both are backlogged, though one posts 16x larger tasks', async () => {
    const { share, a, b } = await contendedShare(
      { weight: 1, cost: 256 * KiB, count: 1024 },
      { weight: 1, cost: 4 * MiB, count: 32 },
    );
    // Contention lasted until the 4 MiB guest ran out: all of its bytes, and about as many of the other's.
    expect(b).toEqual({ bytes: 128 * MiB, contendedBytes: 128 * MiB });
    expect(a.bytes).toBe(256 * MiB);
    expect(a.contendedBytes).toBeGreaterThan(100 * MiB);
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
  });

  it('gives weights 3:1 three quarters of the bytes, whichever guest posts the larger tasks', async () => {
    const smallHeavy = await contendedShare(
      { weight: 3, cost: 256 * KiB, count: 2048 },
      { weight: 1, cost: 4 * MiB, count: 32 },
    );
    expect(smallHeavy.share).toBeGreaterThan(0.7);
    expect(smallHeavy.share).toBeLessThan(0.8);
    const largeHeavy = await contendedShare(
      { weight: 3, cost: 4 * MiB, count: 64 },
      { weight: 1, cost: 256 * KiB, count: 1024 },
    );
    expect(largeHeavy.share).toBeGreaterThan(0.7);
    expect(largeHeavy.share).toBeLessThan(0.8);
  });

  it('starts a lone guest’s tasks back to back, however large: no rounds waited, no event-loop turn between them', async () => {
    const scheduler = new FairScheduler(256 * KiB);
    const stats = scheduler.addFlow(1);
    const immediates = vi.spyOn(globalThis, 'setImmediate');
    // How many setImmediate calls had been made when each task started.
    const seen: number[] = [];
    const note = () => void seen.push(immediates.mock.calls.length);
    await Promise.all([
      scheduler.run(1, 64 * MiB, note),
      ...Array.from({ length: 63 }, () => scheduler.run(1, 4 * MiB, note)),
      ...Array.from({ length: 64 }, () => scheduler.run(1, 4 * KiB, note)),
    ]);
    expect(seen).toHaveLength(128);
    expect(new Set(seen).size).toBe(1);
    expect(scheduler.turns).toBe(0);
    expect(stats).toEqual({ bytes: 64 * MiB + 63 * 4 * MiB + 64 * 4 * KiB, contendedBytes: 0 });
  });

  it('lets a guest left alone go on at once, in debt or not', async () => {
    const scheduler = new FairScheduler(256 * KiB);
    const big = scheduler.addFlow(1);
    const small = scheduler.addFlow(2);
    const order: string[] = [];
    await Promise.all([
      ...Array.from({ length: 3 }, (_, i) => record(scheduler, order, 1, `big${i}`, 4 * MiB)),
      record(scheduler, order, 2, 'small', 256 * KiB),
    ]);
    // One round with both (big0 leaves its guest 3.75 MiB in debt), then big1 and big2 alone:
    // the rounds that would repay the debt are counted, not waited for.
    expect(order).toEqual(['big0', 'small', 'big1', 'big2']);
    expect(scheduler.turns).toBe(0);
    expect(big).toEqual({ bytes: 12 * MiB, contendedBytes: 4 * MiB });
    expect(small).toEqual({ bytes: 256 * KiB, contendedBytes: 256 * KiB });
  });

  it('takes one event-loop turn per `bytesPerTurn` only while more than one guest is backlogged', async () => {
    const scheduler = new FairScheduler(100, { bytesPerTurn: 100 });
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    const order: string[] = [];
    await Promise.all([
      ...Array.from({ length: 3 }, (_, i) => record(scheduler, order, 1, `a${i}`, 100)),
      ...Array.from({ length: 6 }, (_, i) => record(scheduler, order, 2, `b${i}`, 100)),
    ]);
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'b3', 'b4', 'b5']);
    // After rounds 1 and 2; round 3 leaves guest 2 alone, which needs no turn.
    expect(scheduler.turns).toBe(2);
  });

  it('lets the event loop turn after `tasksPerTurn` tasks of a lone guest, so timers and transports still run', async () => {
    const scheduler = new FairScheduler(100, { tasksPerTurn: 4 });
    scheduler.addFlow(1);
    const order: string[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => record(scheduler, order, 1, `a${i}`, 1)),
    );
    expect(order).toHaveLength(10);
    expect(scheduler.turns).toBe(2);
  });

  it('keeps the debt of a guest that goes idle, repaid by the rounds that pass meanwhile', async () => {
    const scheduler = new FairScheduler(100);
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    const order: string[] = [];
    let returning: Promise<unknown> | undefined;
    const others = Array.from({ length: 10 }, (_, i) =>
      scheduler.run(2, 100, () => {
        order.push(`b${i}`);
        // Guest 1 posts again while guest 2 runs alone: by then 3 rounds (b1..b3) repaid its debt.
        if (i === 3) returning = record(scheduler, order, 1, 'again', 100);
      }),
    );
    const first = record(scheduler, order, 1, 'big', 400);
    await Promise.all([first, ...others]);
    await returning;
    // big leaves guest 1 at -300 and idle; guest 2 runs alone (b1..b3), each task a round
    // counted; once back, guest 1 owes nothing and takes its turn in the next round.
    expect(order).toEqual([
      'b0',
      'big',
      'b1',
      'b2',
      'b3',
      'b4',
      'again',
      'b5',
      'b6',
      'b7',
      'b8',
      'b9',
    ]);
  });

  it('refunds a task that fails: its guest keeps its credit, and the bytes are not counted', async () => {
    const scheduler = new FairScheduler(100);
    const first = scheduler.addFlow(1);
    const second = scheduler.addFlow(2);
    const order: string[] = [];
    const refused = scheduler.run(1, 100, () => {
      order.push('refused');
      throw new VrdmaError('TOO_LONG', 'the engine refused it');
    });
    const runs = [
      record(scheduler, order, 1, 'a0', 100),
      record(scheduler, order, 2, 'b0', 100),
      record(scheduler, order, 2, 'b1', 100),
    ];
    await expect(refused).rejects.toMatchObject({ code: 'TOO_LONG' });
    await Promise.all(runs);
    // The refund lets a0 start in the same visit as the refused task.
    expect(order).toEqual(['refused', 'a0', 'b0', 'b1']);
    expect(first).toEqual({ bytes: 100, contendedBytes: 100 });
    expect(second).toEqual({ bytes: 200, contendedBytes: 100 });

    // Alone, the same.
    await expect(
      scheduler.run(1, 1000, () => Promise.reject(new VrdmaError('CHANNEL_FULL', 'full'))),
    ).rejects.toMatchObject({ code: 'CHANNEL_FULL' });
    expect(first).toEqual({ bytes: 100, contendedBytes: 100 });
  });

  it('refuses a task at once with QUOTA_EXCEEDED when its guest already has `maxQueued` waiting', async () => {
    const scheduler = new FairScheduler(100, { maxQueued: 2 });
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const started: string[] = [];
    const blocked = (name: string) => async () => {
      started.push(name);
      await gate;
    };
    const queued = [scheduler.run(1, 10, blocked('a0')), scheduler.run(1, 10, blocked('a1'))];
    let ran = false;
    const over = scheduler.run(1, 10, () => {
      ran = true;
    });
    const refusal = await over.catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(VrdmaError);
    // A quota refusal like the host's others: the audit interceptor records it.
    expect(refusal).toMatchObject({ code: 'QUOTA_EXCEEDED', kind: 'quota' });
    // a0 has started and waits: a0 is no longer queued, so one more fits.
    expect(started).toEqual(['a0']);
    const fits = scheduler.run(1, 10, blocked('a2'));
    expect(await codeOf(scheduler.run(1, 10, () => {}))).toBe('QUOTA_EXCEEDED');
    // The bound is per guest.
    const other = scheduler.run(2, 10, () => 'b0');
    open();
    await Promise.all([...queued, fits]);
    expect(await other).toBe('b0');
    expect(ran).toBe(false);
    expect(started).toEqual(['a0', 'a1', 'a2']);
    expect(scheduler.backlog).toBe(0);
  });

  it('refuses costs and weights that would break its arithmetic', async () => {
    const scheduler = new FairScheduler(100);
    scheduler.addFlow(1);
    for (const cost of [Number.NaN, -1, Number.POSITIVE_INFINITY])
      expect(await codeOf(scheduler.run(1, cost, () => {}))).toBe('INTERNAL');
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => scheduler.addFlow(2, weight)).toThrow(/weight/);
    expect(() => new FairScheduler(0)).toThrow(RangeError);
    expect(await scheduler.run(1, 5, () => 'still serving')).toBe('still serving');
  });
});

describe('FairScheduler, with an engine window', () => {
  const held = (
    scheduler: FairScheduler,
    flow: number,
    started: number[],
    i: number,
    cost: number,
  ) => scheduler.run(flow, cost, () => started.push(i), { held: true });

  it('starts held tasks while the engine holds less than the window, the rest once it finishes some', async () => {
    const scheduler = new FairScheduler(MiB, { window: 4 * MiB });
    scheduler.addFlow(1);
    const started: number[] = [];
    const all = Array.from({ length: 6 }, (_, i) => held(scheduler, 1, started, i, MiB));
    await Promise.all(all.slice(0, 4));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2, 3]);
    expect(scheduler.held).toBe(4 * MiB);
    scheduler.finished(1, MiB);
    await all[4];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2, 3, 4]);
    scheduler.finished(1, 4 * MiB);
    await all[5];
    expect(scheduler.held).toBe(MiB);
  });

  it('keeps two tasks larger than the window in the engine at once, so one never waits alone', async () => {
    const scheduler = new FairScheduler(MiB, { window: 4 * MiB });
    scheduler.addFlow(1);
    const started: number[] = [];
    const all = Array.from({ length: 3 }, (_, i) => held(scheduler, 1, started, i, 16 * MiB));
    await Promise.all(all.slice(0, 2));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    scheduler.finished(1, 16 * MiB);
    await all[2];
    expect(started).toEqual([0, 1, 2]);
  });

  it('gives back what a removed guest held', async () => {
    const scheduler = new FairScheduler(MiB, { window: 4 * MiB });
    scheduler.addFlow(1);
    scheduler.addFlow(2);
    const started: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => held(scheduler, 1, started, i, MiB)));
    const waiting = held(scheduler, 2, started, 9, MiB);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).not.toContain(9);
    scheduler.removeFlow(1, new VrdmaError('DISCONNECTED', 'gone'));
    await waiting;
    expect(started).toContain(9);
    expect(scheduler.held).toBe(MiB);
  });
});

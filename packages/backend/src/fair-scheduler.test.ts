import { VrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { FairScheduler } from './fair-scheduler.js';

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

  it('serves weights in proportion, and makes large tasks wait for their credit', async () => {
    const weighted = new FairScheduler(100);
    weighted.addFlow(1, 2);
    weighted.addFlow(2, 1);
    const order: string[] = [];
    await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => record(weighted, order, 1, `a${i}`, 100)),
      ...Array.from({ length: 2 }, (_, i) => record(weighted, order, 2, `b${i}`, 100)),
    ]);
    expect(order).toEqual(['a0', 'a1', 'b0', 'a2', 'a3', 'b1']);

    const sizes = new FairScheduler(100);
    sizes.addFlow(1);
    sizes.addFlow(2);
    const bySize: string[] = [];
    await Promise.all([
      record(sizes, bySize, 1, 'big', 300),
      ...Array.from({ length: 4 }, (_, i) => record(sizes, bySize, 2, `s${i}`, 100)),
    ]);
    expect(bySize).toEqual(['s0', 's1', 'big', 's2', 's3']);
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
    // Round 1 has both guests backlogged; a1..a3 run alone in rounds 2..4.
    expect(order).toEqual(['a0', 'b0', 'a1', 'a2', 'a3']);
    expect(first).toEqual({ bytes: 400, contendedBytes: 100 });
    expect(second).toEqual({ bytes: 60, contendedBytes: 60 });
    await record(scheduler, order, 2, 'b1', 40);
    expect(second).toEqual({ bytes: 100, contendedBytes: 60 });
  });
});

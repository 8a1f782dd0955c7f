import { offsetAddress } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineConfigInput } from './config.js';
import { createLocalCluster, type LocalCluster } from './local-cluster.js';
import { reap, turns } from './test-helpers.js';

const KiB = 1024;

/**
 * The channel model: transfers start in queue order, up to `pipelineDepth` of them are moved
 * at once with their chunks interleaved, completions are reported in queue order, and a
 * fenced transfer starts only after every earlier one finished.
 */
describe('per-channel ordering and fences', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.shutdown();
    cluster = undefined;
  });

  async function setup(config: EngineConfigInput = { dmaChunk: 4 * KiB, pipelineDepth: 4 }) {
    cluster = createLocalCluster({ nodes: [0, 1], config });
    const a = cluster.node(0).openSession();
    const b = cluster.node(1).openSession();
    await a.open();
    await b.open();
    const target = await b.alloc({ size: 256 * KiB });
    const exported = await b.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const big = await a.alloc({ size: 256 * KiB });
    const small = await a.alloc({ size: 4 * KiB });
    a.view(big.ref).fill(0xaa);
    a.view(small.ref).fill(0xbb);
    const { channel } = await a.openChannel({ depth: 16 });
    const tail = offsetAddress(exported.address, 252 * KiB);
    return { a, b, target, exported, big, small, channel, tail };
  }

  it('lets a later read overtake a write without a fence, and not with one', async () => {
    for (const fence of [false, true]) {
      const { a, exported, big, small, channel, tail } = await setup();
      a.view(small.ref).fill(0);
      const w = await a.write({
        channel,
        local: big.ref,
        remote: exported.address,
        key: exported.key,
      });
      const r = await a.read({ channel, local: small.ref, remote: tail, key: exported.key, fence });
      const done = await reap(a, channel, 2);
      // Completions come in queue order whatever finished first.
      expect(done.map((c) => c.transfer)).toEqual([w.transfer, r.transfer]);
      expect(done.every((c) => c.status === 'ok')).toBe(true);
      // Unfenced, the read copied the tail before the write reached it: it saw old bytes.
      const expected = fence ? 0xaa : 0x00;
      expect(a.view(small.ref).every((x) => x === expected)).toBe(true);
      await cluster!.shutdown();
    }
  });

  it('lets a later small write land before an earlier big one finishes, unless fenced', async () => {
    for (const fence of [false, true]) {
      const { a, b, target, exported, big, small, channel, tail } = await setup();
      await a.write({ channel, local: big.ref, remote: exported.address, key: exported.key });
      await a.write({ channel, local: small.ref, remote: tail, key: exported.key, fence });
      await reap(a, channel, 2);
      const last = b.view(target.ref).subarray(252 * KiB);
      // Unfenced, the big write's last chunk overwrote the small write that landed first.
      expect(last.every((x) => x === (fence ? 0xbb : 0xaa))).toBe(true);
      await cluster!.shutdown();
    }
  });

  it('with a pipeline of one, transfers of a channel are strictly sequential', async () => {
    const { a, b, target, exported, big, small, channel, tail } = await setup({
      dmaChunk: 4 * KiB,
      pipelineDepth: 1,
    });
    await a.write({ channel, local: big.ref, remote: exported.address, key: exported.key });
    await a.write({ channel, local: small.ref, remote: tail, key: exported.key });
    await reap(a, channel, 2);
    expect(
      b
        .view(target.ref)
        .subarray(252 * KiB)
        .every((x) => x === 0xbb),
    ).toBe(true);
  });

  it('keeps channels independent: a busy channel does not hold back another', async () => {
    const { a, exported, big, small, channel, tail } = await setup({
      dmaChunk: 4 * KiB,
      pipelineDepth: 1,
      linkBandwidth: 1024 * 1024,
    });
    const other = (await a.openChannel()).channel;
    for (let i = 0; i < 4; i++)
      await a.write({ channel, local: big.ref, remote: exported.address, key: exported.key });
    await a.write({ channel: other, local: small.ref, remote: tail, key: exported.key });
    const [quick] = await reap(a, other, 1);
    expect(quick!.status).toBe('ok');
    // The busy channel (about a second of paced transfers) cannot all be done yet.
    await turns();
    expect((await a.poll({ channel })).completions.length).toBeLessThan(4);
    await a.closeChannel({ channel });
  });

  it('reports completions in queue order even when later transfers finish first', async () => {
    const { a, exported, big, small, channel, tail } = await setup();
    const ids: number[] = [];
    ids.push(
      (await a.write({ channel, local: big.ref, remote: exported.address, key: exported.key }))
        .transfer,
    );
    for (let i = 0; i < 3; i++)
      ids.push(
        (await a.write({ channel, local: small.ref, remote: tail, key: exported.key })).transfer,
      );
    const done = await reap(a, channel, 4);
    expect(done.map((c) => c.transfer)).toEqual(ids);
  });

  it('takes turns across engine turns: a transfer queued last is not starved by earlier ones', async () => {
    // Two chunks per turn: a turn ends in the middle of the list of running transfers.
    const { a, exported, big, small, channel, tail } = await setup({
      dmaChunk: 4 * KiB,
      dmaBurst: 8 * KiB,
      pipelineDepth: 4,
    });
    const other = (await a.openChannel()).channel;
    for (let i = 0; i < 4; i++)
      await a.write({ channel, local: big.ref, remote: exported.address, key: exported.key });
    await a.write({ channel: other, local: small.ref, remote: tail, key: exported.key });
    const [quick] = await reap(a, other, 1);
    expect(quick!.status).toBe('ok');
    // The small write got its chunk within a few turns: no big write (64 chunks) is done yet.
    expect((await a.poll({ channel })).completions).toEqual([]);
    await reap(a, channel, 4);
  });
});

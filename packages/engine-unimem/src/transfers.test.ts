import { createSharedRegion } from '@vrdma/memory';
import { offsetAddress } from '@vrdma/unimem-api';
import { expectSameBytes, testPattern } from '@vrdma/unimem-api/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalCluster, type LocalCluster } from './local-cluster.js';
import { reap } from './test-helpers.js';

const MiB = 1024 * 1024;

describe('transfers between in-process nodes', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.shutdown();
    cluster = undefined;
  });

  const sizes = [1, 3, 4097, MiB + 5, 64 * MiB];
  it.each(sizes)('writes and reads back %i bytes at odd offsets, byte for byte', async (size) => {
    cluster = createLocalCluster({ nodes: [0, 5], config: { sessionMemory: 160 * MiB } });
    const a = cluster.node(0).openSession();
    const b = cluster.node(5).openSession();
    await a.open();
    await b.open();
    const source = await a.alloc({ size: size + 16 });
    const sink = await a.alloc({ size: size + 16 });
    const target = await b.alloc({ size: size + 16 });
    const { key, address } = await b.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const sent = testPattern(size, size & 0xff);
    a.view(source.ref).set(sent, 3);
    const { channel } = await a.openChannel({ depth: 4 });

    const local = { ...source.ref, offset: source.ref.offset + 3, length: size };
    const put = await a.write({ channel, local, remote: offsetAddress(address, 5), key });
    expect(await reap(a, channel, 1)).toEqual([
      { transfer: put.transfer, status: 'ok', bytes: size },
    ]);
    const landed = b.view(target.ref);
    expectSameBytes(landed.subarray(5, 5 + size), sent);
    expect(landed[4]).toBe(0);
    expect(landed[5 + size]).toBe(0);

    const into = { ...sink.ref, offset: sink.ref.offset + 7, length: size };
    const get = await a.read({ channel, local: into, remote: offsetAddress(address, 5), key });
    expect(await reap(a, channel, 1)).toEqual([
      { transfer: get.transfer, status: 'ok', bytes: size },
    ]);
    expectSameBytes(a.view(sink.ref).subarray(7, 7 + size), sent);
    expect(a.view(sink.ref)[6]).toBe(0);
  });

  it('writes into the very memory the guest sees (zero-copy), from the very memory it filled', async () => {
    cluster = createLocalCluster({ nodes: [0, 1] });
    const guestA = createSharedRegion(11, MiB);
    const guestB = createSharedRegion(12, MiB);
    const a = cluster.node(0).openSession({ memory: guestA });
    const b = cluster.node(1).openSession({ memory: guestB });
    await a.open();
    await b.open();
    const source = await a.alloc({ size: 4096 });
    const target = await b.alloc({ size: 4096 });
    const { key, address } = await b.exportBuffer({ buffer: target.buffer, access: 'write' });
    expect(source.ref.region).toBe(11);
    expect(target.ref.region).toBe(12);

    // Views taken before the transfer, straight on the guests' regions.
    const seenByB = guestB.bytes.subarray(target.ref.offset, target.ref.offset + 4096);
    const viewByEngine = b.view(target.ref);
    guestA.bytes.set(testPattern(4096, 77), source.ref.offset);

    const { channel } = await a.openChannel();
    await a.write({ channel, local: source.ref, remote: address, key });
    expect((await reap(a, channel, 1))[0]!.status).toBe('ok');
    expectSameBytes(seenByB, testPattern(4096, 77));
    expect(viewByEngine.buffer).toBe(guestB.bytes.buffer);
    expectSameBytes(viewByEngine, testPattern(4096, 77));
  });

  it('moves bytes between nodes on several channels at once', async () => {
    cluster = createLocalCluster({ nodes: [0, 1, 2], config: { dmaChunk: 4096 } });
    const sessions = cluster.nodes.map((n) => n.openSession());
    for (const s of sessions) await s.open();
    const [a, b, c] = sessions as [
      (typeof sessions)[0],
      (typeof sessions)[0],
      (typeof sessions)[0],
    ];
    const tb = await b.alloc({ size: 100_000 });
    const tc = await c.alloc({ size: 100_000 });
    const kb = await b.exportBuffer({ buffer: tb.buffer, access: 'write' });
    const kc = await c.exportBuffer({ buffer: tc.buffer, access: 'write' });
    const src = await a.alloc({ size: 100_000 });
    a.view(src.ref).set(testPattern(100_000, 1));
    const ch1 = (await a.openChannel()).channel;
    const ch2 = (await a.openChannel()).channel;
    await a.write({ channel: ch1, local: src.ref, remote: kb.address, key: kb.key });
    await a.write({ channel: ch2, local: src.ref, remote: kc.address, key: kc.key });
    expect((await reap(a, ch1, 1))[0]!.status).toBe('ok');
    expect((await reap(a, ch2, 1))[0]!.status).toBe('ok');
    expectSameBytes(b.view(tb.ref), testPattern(100_000, 1));
    expectSameBytes(c.view(tc.ref), testPattern(100_000, 1));
  });
});

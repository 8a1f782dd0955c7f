import { isVrdmaError } from '@vrdma/api-spec';
import {
  type Completion,
  makeGlobalAddress,
  offsetAddress,
  type UnimemSession,
} from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineConfigInput } from './config.js';
import { createLocalCluster, type LocalCluster } from './local-cluster.js';
import { reap, turns } from './test-helpers.js';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isVrdmaError(error), `expected VrdmaError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

describe('hardware-like errors', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.shutdown();
    cluster = undefined;
  });

  async function pair(config: EngineConfigInput = {}) {
    cluster = createLocalCluster({ nodes: [0, 1], config });
    const a = cluster.node(0).openSession();
    const b = cluster.node(1).openSession();
    await a.open();
    await b.open();
    const target = await b.alloc({ size: 64 * 1024 });
    const exported = await b.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const source = await a.alloc({ size: 64 * 1024 });
    const { channel } = await a.openChannel({ depth: 8 });
    const put = (
      s: UnimemSession = a,
      extra: Partial<Parameters<UnimemSession['write']>[0]> = {},
    ) =>
      s.write({
        channel,
        local: source.ref,
        remote: exported.address,
        key: exported.key,
        ...extra,
      });
    return { a, b, target, exported, source, channel, put };
  }

  it('NOT_OPEN and ALREADY_OPEN', async () => {
    cluster = createLocalCluster();
    const s = cluster.node(0).openSession();
    await rejectsWith(s.alloc({ size: 64 }), 'NOT_OPEN');
    await rejectsWith(s.poll({ channel: 1 as never }), 'NOT_OPEN');
    await rejectsWith(s.close(), 'NOT_OPEN');
    await s.open();
    await rejectsWith(s.open(), 'ALREADY_OPEN');
    await s.close();
    await rejectsWith(s.query(), 'NOT_OPEN');
  });

  it('BAD_HANDLE and BAD_KEY', async () => {
    const { a, b, channel, exported } = await pair();
    await rejectsWith(a.free({ buffer: 999 as never }), 'BAD_HANDLE');
    await rejectsWith(a.poll({ channel: 999 as never }), 'BAD_HANDLE');
    await a.closeChannel({ channel });
    await rejectsWith(a.closeChannel({ channel }), 'BAD_HANDLE');
    await rejectsWith(a.revoke({ key: exported.key }), 'BAD_KEY'); // b's key, not a's
    await b.revoke({ key: exported.key });
    await rejectsWith(b.revoke({ key: exported.key }), 'BAD_KEY');
  });

  it('NO_MEMORY when the region is exhausted', async () => {
    cluster = createLocalCluster({ config: { sessionMemory: 64 * 1024 } });
    const s = cluster.node(0).openSession();
    await s.open();
    await rejectsWith(s.alloc({ size: 64 * 1024 + 1 }), 'NO_MEMORY');
    const whole = await s.alloc({ size: 64 * 1024 });
    await rejectsWith(s.alloc({ size: 1 }), 'NO_MEMORY');
    await s.free({ buffer: whole.buffer });
    await s.alloc({ size: 1 });
  });

  it('OUT_OF_RANGE: local range outside the caller’s buffers, a node outside the cluster', async () => {
    const { a, source, channel, exported, put } = await pair();
    await rejectsWith(
      put(a, { local: { ...source.ref, length: source.ref.length + 1 } }),
      'OUT_OF_RANGE',
    );
    await rejectsWith(
      put(a, { local: { ...source.ref, region: source.ref.region + 1 } }),
      'OUT_OF_RANGE',
    );
    await rejectsWith(put(a, { remote: makeGlobalAddress(42, 0) }), 'OUT_OF_RANGE');
    expect(() => a.view({ ...source.ref, region: 7 })).toThrow(/not this session/);
    // The remote range is the owner's to check: reported in the completion.
    await put(a, { remote: offsetAddress(exported.address, 64 * 1024 - 1) });
    await put(a, { remote: offsetAddress(exported.address, -1) });
    const done = await reap(a, channel, 2);
    expect(done.map((c) => c.status)).toEqual(['no-permission', 'no-permission']);
  });

  it('TOO_LONG: a transfer over the engine maximum, a channel deeper than allowed', async () => {
    const { a, source, put } = await pair({
      maxTransfer: 1024,
      maxQueueDepth: 16,
      defaultQueueDepth: 8,
    });
    await rejectsWith(put(a, { local: { ...source.ref, length: 1025 } }), 'TOO_LONG');
    await put(a, { local: { ...source.ref, length: 1024 } });
    await rejectsWith(a.openChannel({ depth: 17 }), 'TOO_LONG');
    expect((await a.openChannel({ depth: 16 })).depth).toBe(16);
  });

  it('MISALIGNED where the engine requires alignment', async () => {
    const { a, source, exported, put } = await pair({ alignment: 8 });
    await rejectsWith(a.alloc({ size: 64, align: 4 }), 'MISALIGNED');
    await rejectsWith(
      put(a, { local: { ...source.ref, offset: source.ref.offset + 3, length: 8 } }),
      'MISALIGNED',
    );
    await rejectsWith(put(a, { remote: offsetAddress(exported.address, 3) }), 'MISALIGNED');
    await put(a, { local: { ...source.ref, offset: source.ref.offset + 8, length: 8 } });
    expect((await a.query()).limits.alignment).toBe(8);
  });

  it('LIMIT_REACHED past the channel count and the key table', async () => {
    const { a, b, target, source } = await pair({ maxChannels: 2, maxKeys: 3 });
    await a.openChannel();
    await rejectsWith(a.openChannel(), 'LIMIT_REACHED');
    // pair() exported one key on node 1; two more fill its table.
    await b.exportBuffer({ buffer: target.buffer, access: 'read' });
    const last = await b.exportBuffer({ buffer: target.buffer, access: 'read' });
    await rejectsWith(b.exportBuffer({ buffer: target.buffer, access: 'read' }), 'LIMIT_REACHED');
    await a.exportBuffer({ buffer: source.buffer, access: 'read' }); // node 0's table is its own
    await b.revoke({ key: last.key });
    await b.exportBuffer({ buffer: target.buffer, access: 'read' });
  });

  it('NODE_DOWN for a node known to be down; in-flight transfers end as node-down', async () => {
    const { a, channel, put } = await pair({ linkBandwidth: 1024 * 1024, dmaChunk: 4096 });
    await put();
    await turns();
    cluster!.setNodeDown(1, true);
    expect((await a.query()).nodes).toEqual([0]);
    await rejectsWith(put(), 'NODE_DOWN');
    const [done] = await reap(a, channel, 1);
    expect(done).toMatchObject({ status: 'node-down', bytes: 0 });
    cluster!.setNodeDown(1, false);
    expect((await a.query()).nodes).toEqual([0, 1]);
    await put();
    expect((await reap(a, channel, 1))[0]!.status).toBe('ok');
  });

  it('CHANNEL_FULL counts completed but unreaped transfers, and queues nothing', async () => {
    const { a, b, target, channel, source, exported } = await pair();
    const node = cluster!.node(0);
    const small = (i: number) => ({
      channel,
      local: { ...source.ref, length: 16 },
      remote: offsetAddress(exported.address, i * 16),
      key: exported.key,
    });
    a.view(source.ref).fill(9);
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push((await a.write(small(i))).transfer);
    for (let i = 0; node.dma.stats.transfers < 8 && i < 100; i++) await turns();
    expect(node.dma.stats.transfers).toBe(8); // all finished, none reaped
    await rejectsWith(a.write(small(8)), 'CHANNEL_FULL');
    expect(
      b
        .view(target.ref)
        .subarray(8 * 16, 9 * 16)
        .every((x) => x === 0),
    ).toBe(true);
    const first = await a.poll({ channel, max: 1 });
    expect(first.completions.map((c) => c.transfer)).toEqual([ids[0]]);
    const next = await a.write(small(8));
    expect(next.transfer).toBe(ids[7]! + 1); // the refused call took no id
    const rest = await reap(a, channel, 8);
    expect(rest.map((c) => c.transfer)).toEqual([...ids.slice(1), next.transfer]);
  });

  it('BUSY while a transfer uses a buffer, local or remote side; canceled on channel close', async () => {
    const { a, b, target, source, channel, put } = await pair({
      linkBandwidth: 1024 * 1024,
      dmaChunk: 4096,
    });
    await put();
    await turns();
    await rejectsWith(a.free({ buffer: source.buffer }), 'BUSY');
    await rejectsWith(b.free({ buffer: target.buffer }), 'BUSY');
    await a.closeChannel({ channel });
    await a.free({ buffer: source.buffer });
    await b.free({ buffer: target.buffer });
  });

  it('closing the session drops its unfinished transfers, wakes waiters and holds nothing', async () => {
    const { a, put } = await pair({ linkBandwidth: 1024 * 1024, dmaChunk: 4096 });
    const waiting: Promise<{ completions: Completion[] }> = a.wait({
      channel: (await a.openChannel()).channel,
      timeoutMs: 200,
    });
    await put();
    await a.close();
    expect((await waiting).completions).toEqual([]);
    expect(a.holdings).toEqual({ buffers: 0, bytes: 0, channels: 0, keys: 0 });
  });

  it('INVALID_ARGUMENT for calls that do not match the spec', async () => {
    const { a, channel, source } = await pair();
    await rejectsWith(a.alloc({ size: -1 }), 'INVALID_ARGUMENT');
    await rejectsWith(
      a.write({ channel, local: source.ref, remote: -1n as never, key: 1 }),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(a.poll({ channel, max: 17 }), 'INVALID_ARGUMENT');
    await rejectsWith(a.wait({ channel, timeoutMs: -5 }), 'INVALID_ARGUMENT');
  });
});

import { isVrdmaError } from '@vrdma/api-spec';
import { makeGlobalAddress, type UnimemSession } from '@vrdma/unimem-api';
import { describe, expect, it } from 'vitest';
import { createMockCluster, type MockClusterOptions } from './cluster.js';
import type { MockSession } from './session.js';

async function pair(options?: MockClusterOptions) {
  const cluster = createMockCluster(options);
  const [e0, e1] = cluster.engines;
  const a = e0!.openSession({ label: 'a' });
  const b = e1!.openSession({ label: 'b' });
  await a.open();
  await b.open();
  const target = await b.alloc({ size: 256 });
  const { key } = await b.exportBuffer({ buffer: target.buffer, access: 'read-write' });
  const source = await a.alloc({ size: 256 });
  const { channel } = await a.openChannel({ depth: 4 });
  return { cluster, a, b, target, key, source, channel };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isVrdmaError(error) ? error.code : undefined;
}

describe('engine-mock faults', () => {
  it('fails exactly the Nth call of a function with the injected code, and logs every call', async () => {
    const { cluster, a } = await pair();
    cluster.faults.failNth('alloc', 2, 'NO_MEMORY');
    cluster.log.clear();
    expect(await codeOf(a.alloc({ size: 8 }))).toBeUndefined();
    expect(await codeOf(a.alloc({ size: 8 }))).toBe('NO_MEMORY');
    expect(await codeOf(a.alloc({ size: 8 }))).toBeUndefined();
    expect(cluster.log.calls('alloc').map((r) => [r.session, r.outcome, r.code])).toEqual([
      ['a', 'ok', undefined],
      ['a', 'error', 'NO_MEMORY'],
      ['a', 'ok', undefined],
    ]);
  });

  it('moves the bytes only when a delayed completion arrives, and refuses to free a buffer in flight', async () => {
    const { cluster, a, b, target, key, source, channel } = await pair();
    cluster.faults.delayCompletions(20);
    a.view(source.ref).fill(5);
    const { transfer } = await a.write({ channel, local: source.ref, remote: target.address, key });
    expect(b.view(target.ref)[0]).toBe(0);
    expect(await codeOf(a.free({ buffer: source.buffer }))).toBe('BUSY');
    expect(await codeOf(b.free({ buffer: target.buffer }))).toBe('BUSY');
    const { completions } = await a.wait({ channel, timeoutMs: 2_000 });
    expect(completions).toEqual([{ transfer, status: 'ok', bytes: 256 }]);
    expect(b.view(target.ref).every((x) => x === 5)).toBe(true);
    await a.free({ buffer: source.buffer });
  });

  it('cancels delayed transfers when their channel closes: no bytes move, buffers are released', async () => {
    const { cluster, a, b, target, key, source, channel } = await pair();
    cluster.faults.delayCompletions(30);
    a.view(source.ref).fill(9);
    await a.write({ channel, local: source.ref, remote: target.address, key });
    await a.closeChannel({ channel });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(b.view(target.ref).every((x) => x === 0)).toBe(true);
    await a.free({ buffer: source.buffer });
    await b.free({ buffer: target.buffer });
  });

  it('completes transfers to a node that is down as node-down, and no longer lists it', async () => {
    const { cluster, a, target, key, source, channel } = await pair({ nodes: [4, 5] });
    cluster.setNodeDown(5, true);
    expect((await a.query()).nodes).toEqual([4]);
    const { transfer } = await a.write({ channel, local: source.ref, remote: target.address, key });
    expect((await a.poll({ channel })).completions).toEqual([
      { transfer, status: 'node-down', bytes: 0 },
    ]);
    const nowhere = makeGlobalAddress(77, 0);
    expect(await codeOf(a.write({ channel, local: source.ref, remote: nowhere, key }))).toBe(
      'OUT_OF_RANGE',
    );
  });
});

describe('engine-mock limits and validation', () => {
  it('applies the configured maximum transfer and alignment', async () => {
    const { a, target, key, source, channel } = await pair({
      limits: { maxTransfer: 128, alignment: 8 },
    });
    expect(await codeOf(a.write({ channel, local: source.ref, remote: target.address, key }))).toBe(
      'TOO_LONG',
    );
    const odd = { ...source.ref, offset: source.ref.offset + 3, length: 8 };
    expect(await codeOf(a.write({ channel, local: odd, remote: target.address, key }))).toBe(
      'MISALIGNED',
    );
    const ok = { ...source.ref, length: 128 };
    expect(
      await codeOf(a.write({ channel, local: ok, remote: target.address, key })),
    ).toBeUndefined();
  });

  it('answers bad native arguments with INVALID_ARGUMENT', async () => {
    const { a } = await pair();
    expect(await codeOf(a.alloc({ size: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.free({ buffer: -1 as never }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf((a as UnimemSession).alloc(undefined as never))).toBe('INVALID_ARGUMENT');
  });

  it('reports NO_MEMORY when the session region is full, and reuses freed space', async () => {
    const cluster = createMockCluster({ sessionMemory: 4096 });
    const s = cluster.engine(0).openSession();
    await s.open();
    const first = await s.alloc({ size: 4096 });
    expect(await codeOf(s.alloc({ size: 1 }))).toBe('NO_MEMORY');
    await s.free({ buffer: first.buffer });
    expect((await s.alloc({ size: 4096 })).ref.offset).toBe(first.ref.offset);
  });

  it('gives a buffer’s range of the region back when its node has no address left for it', async () => {
    // 4 KiB of addresses: a 4 KiB buffer aligned to 8 KiB fits the region, not the addresses.
    const cluster = createMockCluster({ sessionMemory: 4096, addressSpace: 4096 });
    const s = cluster.engine(0).openSession();
    await s.open();
    expect(await codeOf(s.alloc({ size: 4096, align: 8192 }))).toBe('NO_MEMORY');
    expect(s.holdings).toEqual({ buffers: 0, bytes: 0, channels: 0, keys: 0 });
    expect((await s.alloc({ size: 4096 })).ref.offset).toBe(0);
    expect(await codeOf(s.alloc({ size: 1 }))).toBe('NO_MEMORY');
  });

  it('refuses an address space no node offset can hold', () => {
    expect(() => createMockCluster({ addressSpace: 2 ** 48 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => createMockCluster({ addressSpace: -1 })).toThrow(/not a byte count/);
  });

  it('mints the same unguessable keys for the same seed', async () => {
    const keys = async (seed: number) => {
      const { b, target } = await pair({ seed });
      return [
        (await b.exportBuffer({ buffer: target.buffer, access: 'read' })).key,
        (await b.exportBuffer({ buffer: target.buffer, access: 'read' })).key,
      ];
    };
    const [k1, k2] = await keys(42);
    expect(await keys(42)).toEqual([k1, k2]);
    expect(await keys(43)).not.toEqual([k1, k2]);
    expect(Math.abs(k2! - k1!)).toBeGreaterThan(1);
  });

  it('holds nothing after close or dispose', async () => {
    const { a, b } = await pair();
    await a.close();
    await b.dispose();
    await b.dispose();
    for (const s of [a, b] as MockSession[])
      expect(s.holdings).toEqual({ buffers: 0, bytes: 0, channels: 0, keys: 0 });
  });
});

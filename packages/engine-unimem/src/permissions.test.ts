import { isVrdmaError } from '@vrdma/api-spec';
import { offsetAddress } from '@vrdma/unimem-api';
import { testPattern } from '@vrdma/unimem-api/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalCluster, type LocalCluster } from './local-cluster.js';
import { reap, turns } from './test-helpers.js';

describe('remote access through exported keys', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.shutdown();
    cluster = undefined;
  });

  async function pair() {
    cluster = createLocalCluster({
      nodes: [0, 1],
      config: { linkBandwidth: 8 * 1024 * 1024, dmaChunk: 4096 },
    });
    const a = cluster.node(0).openSession();
    const b = cluster.node(1).openSession();
    await a.open();
    await b.open();
    const target = await b.alloc({ size: 64 * 1024 });
    const source = await a.alloc({ size: 64 * 1024 });
    a.view(source.ref).set(testPattern(64 * 1024, 5));
    const { channel } = await a.openChannel({ depth: 16 });
    return { a, b, target, source, channel };
  }

  it('grants exactly the access exported: read, write or both', async () => {
    const { a, b, target, source, channel } = await pair();
    const small = { ...source.ref, length: 256 };
    const keys = {
      read: await b.exportBuffer({ buffer: target.buffer, access: 'read' }),
      write: await b.exportBuffer({ buffer: target.buffer, access: 'write' }),
      both: await b.exportBuffer({ buffer: target.buffer, access: 'read-write' }),
    };
    const outcomes: string[] = [];
    for (const k of Object.values(keys)) {
      for (const kind of ['write', 'read'] as const) {
        await a[kind]({ channel, local: small, remote: k.address, key: k.key });
        outcomes.push(`${kind}:${(await reap(a, channel, 1))[0]!.status}`);
      }
    }
    expect(outcomes).toEqual([
      'write:no-permission',
      'read:ok',
      'write:ok',
      'read:no-permission',
      'write:ok',
      'read:ok',
    ]);
    // A key is no address: the wrong key for a buffer is refused even with the right address.
    await a.write({ channel, local: small, remote: keys.both.address, key: keys.both.key + 1 });
    expect((await reap(a, channel, 1))[0]!.status).toBe('no-permission');
  });

  it('a wrong key and a wrong range end alike, so a key cannot be found before its range', async () => {
    const { a, b, target, source, channel } = await pair();
    const exported = await b.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const empty = { ...source.ref, length: 0 };
    const small = { ...source.ref, length: 64 };
    const wrongKey = (exported.key ^ 0x5a5a) >>> 0;
    const past = offsetAddress(exported.address, 64 * 1024 + 64);
    const before = offsetAddress(exported.address, -64);
    const probes = [
      { local: empty, remote: exported.address, key: wrongKey },
      { local: empty, remote: past, key: exported.key },
      { local: small, remote: exported.address, key: wrongKey },
      { local: small, remote: past, key: exported.key },
      { local: small, remote: before, key: exported.key },
      { local: small, remote: past, key: wrongKey },
    ];
    const seen: string[] = [];
    for (const kind of ['read', 'write'] as const) {
      for (const probe of probes) {
        await a[kind]({ channel, ...probe });
        const [done] = await reap(a, channel, 1);
        seen.push(JSON.stringify({ status: done!.status, bytes: done!.bytes, error: done!.error }));
      }
    }
    expect(new Set(seen)).toEqual(new Set([JSON.stringify({ status: 'no-permission', bytes: 0 })]));
  });

  it('revoke stops transfers queued after it; one already under way finishes', async () => {
    const { a, b, target, source, channel } = await pair();
    const { key, address } = await b.exportBuffer({ buffer: target.buffer, access: 'write' });
    const before = await a.write({ channel, local: source.ref, remote: address, key });
    await turns(); // the owner has admitted it: it is under way
    await b.revoke({ key });
    const after = await a.write({
      channel,
      local: { ...source.ref, length: 16 },
      remote: offsetAddress(address, 0),
      key,
    });
    const done = await reap(a, channel, 2);
    expect(done).toEqual([
      { transfer: before.transfer, status: 'ok', bytes: 64 * 1024 },
      { transfer: after.transfer, status: 'no-permission', bytes: 0 },
    ]);
    expect(Buffer.compare(b.view(target.ref), testPattern(64 * 1024, 5))).toBe(0);
  });

  it('freeing a buffer revokes its keys; another session cannot revoke them', async () => {
    const { a, b, target, source, channel } = await pair();
    const { key, address } = await b.exportBuffer({ buffer: target.buffer, access: 'write' });
    const other = cluster!.node(1).openSession();
    await other.open();
    await expect(other.revoke({ key })).rejects.toMatchObject({ code: 'BAD_KEY' });
    await b.free({ buffer: target.buffer });
    await a.write({ channel, local: { ...source.ref, length: 8 }, remote: address, key });
    expect((await reap(a, channel, 1))[0]!.status).toBe('no-permission');
  });

  it('survives hostile transfer arguments: typed errors or refused completions, never a crash', async () => {
    const { a, b, target, source, channel } = await pair();
    const { key, address } = await b.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const guards = [await a.alloc({ size: 4096 }), await b.alloc({ size: 4096 })];
    const codes = new Set([
      'INVALID_ARGUMENT',
      'OUT_OF_RANGE',
      'TOO_LONG',
      'BAD_HANDLE',
      'CHANNEL_FULL',
      'NODE_DOWN',
      'MISALIGNED',
    ]);
    const anything = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.bigInt(),
      fc.string(),
      fc.constant(undefined),
      fc.constant(null),
    );
    const ref = fc.record({
      region: fc.oneof(fc.constant(source.ref.region), fc.integer({ min: -2, max: 2 ** 33 })),
      offset: fc.oneof(fc.integer({ min: -5, max: 2 ** 40 }), fc.constant(source.ref.offset)),
      length: fc.oneof(fc.integer({ min: -5, max: 2 ** 33 }), fc.nat(70_000)),
    });
    const remote = fc.oneof(
      fc.constant(address),
      fc.bigInt({ min: -1n, max: 1n << 65n }),
      fc.bigInt({ min: address - 10n, max: address + 70_000n }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('write', 'read'),
        fc.record({
          channel: fc.oneof(fc.constant(channel), anything),
          local: fc.oneof(ref, anything),
          remote: fc.oneof(remote, anything),
          key: fc.oneof(fc.constant(key), anything),
          fence: fc.oneof(fc.boolean(), anything),
        }),
        async (kind, args) => {
          try {
            await a[kind](args as never);
          } catch (error) {
            expect(isVrdmaError(error), String(error)).toBe(true);
            expect(codes.has((error as { code: string }).code), String(error)).toBe(true);
          }
          await a.poll({ channel, max: 16 });
        },
      ),
      { numRuns: 300 },
    );
    // Nothing outside the buffers named was touched, and the engine still works.
    expect(a.view(guards[0]!.ref).every((x) => x === 0)).toBe(true);
    expect(b.view(guards[1]!.ref).every((x) => x === 0)).toBe(true);
    await a.closeChannel({ channel });
    const fresh = (await a.openChannel()).channel;
    await a.write({ channel: fresh, local: { ...source.ref, length: 4 }, remote: address, key });
    expect((await reap(a, fresh, 1))[0]!.status).toBe('ok');
  });
});

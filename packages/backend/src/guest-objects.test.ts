import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { type UnimemEngine, unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostConfigInput } from './config.js';
import { createHost, type Host } from './host.js';
import { service } from './service.js';
import { codeOf } from './testing/code-of.js';
import { overridingSessions } from './testing/engine-wrappers.js';
import { inProcessGuest } from './testing/in-process.js';

let cluster: MockCluster;
let host: Host;

function start(config: HostConfigInput = {}, engine?: (real: UnimemEngine) => UnimemEngine): Host {
  cluster = createMockCluster();
  const real = cluster.engine(0);
  host = createHost({ services: [service(unimemSpec, engine ? engine(real) : real)], config });
  return host;
}

/** The engine, with every alloc held back for a few milliseconds before it starts. */
function slowAllocs(engine: UnimemEngine): UnimemEngine {
  return overridingSessions(engine, (session) => ({
    alloc: async (args) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return session.alloc(args);
    },
  }));
}

afterEach(async () => {
  await host?.close();
});

describe('quotas under concurrency', () => {
  // Every alloc below is checked against the quota while all the others are still in the engine:
  // the count of buffers held cannot tell them apart, only reservations can.
  it('lets exactly k of N concurrent allocs through a quota of k buffers, on a slow engine', async () => {
    const k = 3;
    start({ quotas: { kinds: { Buffer: k } } }, slowAllocs);
    const g = await inProcessGuest(host);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => codeOf(g.device.alloc({ size: 64 }))),
    );
    expect(outcomes.filter((code) => code === undefined)).toHaveLength(k);
    expect(outcomes.filter((code) => code === 'QUOTA_EXCEEDED')).toHaveLength(10 - k);
    expect(cluster.log.calls('alloc')).toHaveLength(k);
    expect(host.guests()[0]!.ledger).toEqual({
      held: { Buffer: k },
      bytes: k * 64,
      calls: 0,
      memory: 8 << 20,
    });
    expect(await codeOf(g.device.alloc({ size: 64 }))).toBe('QUOTA_EXCEEDED');
  });

  it('lets concurrent allocs reserve no more bytes than the byte quota, on a slow engine', async () => {
    start({ quotas: { bytes: 1000 } }, slowAllocs);
    const g = await inProcessGuest(host);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => codeOf(g.device.alloc({ size: 300 }))),
    );
    expect(outcomes.filter((code) => code === undefined)).toHaveLength(3);
    expect(host.guests()[0]!.ledger).toEqual({
      held: { Buffer: 3 },
      bytes: 900,
      calls: 0,
      memory: 8 << 20,
    });
  });

  it('gives back the reservation of a call the engine fails', async () => {
    start({ quotas: { kinds: { Buffer: 1 } } });
    const g = await inProcessGuest(host);
    cluster.faults.failNth('alloc', 1, 'NO_MEMORY');
    expect(await codeOf(g.device.alloc({ size: 64 }))).toBe('NO_MEMORY');
    expect(await codeOf(g.device.alloc({ size: 64 }))).toBeUndefined();
  });
});

describe('capabilities', () => {
  it('frees a key’s quota slot when its owner revokes it, or frees the buffer it exports', async () => {
    start({ quotas: { kinds: { Key: 1 } } });
    const g = await inProcessGuest(host);
    const { buffer } = await g.device.alloc({ size: 64 });
    const { key } = await g.device.exportBuffer({ buffer, access: 'read' });
    expect(await codeOf(g.device.exportBuffer({ buffer, access: 'read' }))).toBe('QUOTA_EXCEEDED');
    await g.device.revoke({ key });
    expect(await codeOf(g.device.exportBuffer({ buffer, access: 'read' }))).toBeUndefined();
    // A key dies with the buffer it exports (the engine revokes it): its slot is free again.
    await g.device.free({ buffer });
    const other = await g.device.alloc({ size: 64 });
    expect(
      await codeOf(g.device.exportBuffer({ buffer: other.buffer, access: 'read' })),
    ).toBeUndefined();
    expect(host.guests()[0]!.ledger.held).toEqual({ Buffer: 1, Key: 1 });
  });

  it('refuses a revoke of another guest’s key as isolation, and of a key never issued as a mistake', async () => {
    start();
    const owner = await inProcessGuest(host, { label: 'owner' });
    const other = await inProcessGuest(host, { label: 'other' });
    const { buffer } = await owner.device.alloc({ size: 64 });
    const { key } = await owner.device.exportBuffer({ buffer, access: 'read' });

    expect(await codeOf(other.device.revoke({ key }))).toBe('BAD_KEY');
    expect(host.audit.list({ kind: 'isolation' }).map((r) => [r.label, r.message])).toEqual([
      ['other', `revoke: tried to release Key ${key} of guest ${owner.attached.id}`],
    ]);
    const neverIssued = (key + 1) % 2 ** 32;
    expect(await codeOf(other.device.revoke({ key: neverIssued }))).toBe('BAD_KEY');
    expect(host.audit.list({ kind: 'isolation' })).toHaveLength(1);

    // The host refused both before the engine: the owner's key is intact, and the owner's to revoke.
    expect(cluster.log.calls('revoke')).toEqual([]);
    expect(await codeOf(owner.device.revoke({ key }))).toBeUndefined();
  });
});

describe('a call that releases everything (Unimem close)', () => {
  it('forgets every handle and key of the guest: empty ledger, old handles unknown, quota free', async () => {
    start({ quotas: { kinds: { Buffer: 1 } } });
    const g = await inProcessGuest(host);
    const { buffer } = await g.device.alloc({ size: 100 });
    const { key } = await g.device.exportBuffer({ buffer, access: 'read' });
    const { channel } = await g.device.openChannel();

    await g.device.close();
    expect(host.guests()[0]!.ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 8 << 20 });
    // Refused by the host, not passed to the closed engine session (which would say NOT_OPEN).
    expect(await codeOf(g.device.free({ buffer }))).toBe('BAD_HANDLE');
    expect(await codeOf(g.device.closeChannel({ channel }))).toBe('BAD_HANDLE');
    expect(await codeOf(g.device.poll({ channel }))).toBe('BAD_HANDLE');
    expect(await codeOf(g.device.revoke({ key }))).toBe('BAD_KEY');
    expect(host.audit.list({ kind: 'isolation' })).toEqual([]);

    await g.device.open();
    expect(await codeOf(g.device.free({ buffer }))).toBe('BAD_HANDLE');
    expect(await codeOf(g.device.alloc({ size: 100 }))).toBeUndefined();
  });
});

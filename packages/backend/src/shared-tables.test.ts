import { isVrdmaError } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { createLocalCluster, type LocalCluster } from '@vrdma/engine-unimem';
import { createSharedRegion } from '@vrdma/memory';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host, type HostOptions } from './host.js';
import { service } from './service.js';
import { type InProcessGuest, inProcessGuest } from './testing/in-process.js';

let cluster: LocalCluster | undefined;
let host: Host | undefined;
let nextRegion = 7000;

function start(maxKeys: number, config: HostOptions['config'] = {}): Host {
  cluster = createLocalCluster({ nodes: [0], config: { maxKeys } });
  host = createHost({ services: [service(unimemSpec, cluster.node(0))], config });
  return host;
}

/** A guest with a small memory, so that many fit in one test process. */
function smallGuest(on: Host, label: string): Promise<InProcessGuest> {
  return inProcessGuest(on, { label, memory: createSharedRegion(nextRegion++, 64 * 1024) });
}

/** Exports one buffer again and again, as a flooding guest does: the keys it got, and how it was stopped. */
async function flood(guest: InProcessGuest, most: number): Promise<{ keys: number; stop: string }> {
  const { buffer } = await guest.device.alloc({ size: 64 });
  for (let keys = 0; keys < most; keys++) {
    try {
      await guest.device.exportBuffer({ buffer, access: 'read' });
    } catch (error) {
      return { keys, stop: isVrdmaError(error) ? error.code : String(error) };
    }
  }
  return { keys: most, stop: 'never stopped' };
}

afterEach(async () => {
  await host?.close();
  await cluster?.shutdown();
  host = undefined;
  cluster = undefined;
});

describe('a node-wide key table shared by many guests', () => {
  it('gives each guest a share, so a newcomer still gets keys after 64 guests flood exports', async () => {
    // 1024 keys split among the default 128 sharers: 8 each, well below the per-kind quota.
    const on = start(1024);
    const flooders = await Promise.all(
      Array.from({ length: 64 }, (_, i) => smallGuest(on, `flooder-${i}`)),
    );
    const results = await Promise.all(flooders.map((guest) => flood(guest, 2000)));
    for (const result of results) expect(result).toEqual({ keys: 8, stop: 'QUOTA_EXCEEDED' });
    expect(cluster!.node(0).keys.size).toBe(64 * 8);

    const newcomer = await smallGuest(on, 'newcomer');
    expect(await flood(newcomer, 2000)).toEqual({ keys: 8, stop: 'QUOTA_EXCEEDED' });
    const refusals = on.audit.list({ kind: 'quota' });
    expect(refusals.length).toBe(65);
    expect(refusals[0]!.message).toMatch(/share of 8 Key reached/);
  });

  it('gives a share back when the guest revokes a key', async () => {
    const on = start(100, { quotas: { sharers: 10 } });
    const guest = await smallGuest(on, 'reuser');
    const { buffer } = await guest.device.alloc({ size: 64 });
    const keys: number[] = [];
    for (let i = 0; i < 10; i++)
      keys.push((await guest.device.exportBuffer({ buffer, access: 'read' })).key);
    await expect(guest.device.exportBuffer({ buffer, access: 'read' })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
    });
    await guest.device.revoke({ key: keys[0]! });
    await expect(guest.device.exportBuffer({ buffer, access: 'read' })).resolves.toMatchObject({
      length: 64,
    });
  });

  it('leaves the per-kind quota alone when the engine reports no table', async () => {
    const mock = createMockCluster({ nodes: [0] });
    host = createHost({
      services: [service(unimemSpec, mock.engine(0))],
      config: { quotas: { kinds: { Key: 20 }, sharers: 1000 } },
    });
    const guest = await smallGuest(host, 'unbounded');
    expect(await flood(guest, 100)).toEqual({ keys: 20, stop: 'QUOTA_EXCEEDED' });
  });
});

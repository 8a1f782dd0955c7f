import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { type GlobalAddress, unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FairScheduler } from './fair-scheduler.js';
import { createHost, type Host } from './host.js';
import { service } from './service.js';
import { codeOf } from './testing/code-of.js';
import { type InProcessGuest, inProcessGuest } from './testing/in-process.js';

let cluster: MockCluster;
let host: Host;

afterEach(async () => {
  vi.restoreAllMocks();
  await host?.close();
});

/** A host on a mock engine of two nodes whose transfers are at most `maxTransfer` bytes. */
function start(maxTransfer = 64 * 1024 * 1024): Host {
  cluster = createMockCluster({ nodes: [0, 1], limits: { maxTransfer } });
  host = createHost({ services: [service(unimemSpec, cluster.engine(0))] });
  return host;
}

/** A guest with a buffer and a channel, and a buffer on node 1 exported to it. */
async function poster(label: string, size: number) {
  const peer = cluster.engine(1).openSession({ label: 'peer' });
  await peer.open();
  const target = await peer.alloc({ size });
  const { key, address } = await peer.exportBuffer({ buffer: target.buffer, access: 'write' });
  const guest: InProcessGuest = await inProcessGuest(host, { label });
  const buffer = await guest.device.alloc({ size });
  const { channel } = await guest.device.openChannel();
  const write = (length: number) =>
    guest.device.write({
      channel,
      local: { ...buffer.ref, length },
      remote: address as GlobalAddress,
      key,
    });
  const scheduled = () => host.guests().find((g) => g.label === label)!.metrics.scheduled;
  const errors = () => host.guests().find((g) => g.label === label)!.metrics.errors;
  return { guest, buffer, write, scheduled, errors };
}

describe('what a data-plane post charges the fair scheduler', () => {
  it('nothing for a buffer length the guest does not own: isolation refuses it before fairness sees it', async () => {
    start();
    const g = await poster('greedy', 4096);
    const charged = vi.spyOn(FairScheduler.prototype, 'runNow');

    expect(await codeOf(g.write(0xffff_ffff))).toBe('OUT_OF_RANGE');
    // The host itself refused it (not the guest's library), and the scheduler never saw it.
    expect(g.errors()).toEqual({ OUT_OF_RANGE: 1 });
    expect(charged).not.toHaveBeenCalled();
    expect(g.scheduled()).toEqual({ bytes: 0, contendedBytes: 0 });

    // A length inside its buffer is charged what it names.
    expect(await codeOf(g.write(4096))).toBeUndefined();
    expect(charged.mock.calls.map(([, cost]) => cost)).toEqual([4096]);
    expect(g.scheduled()).toEqual({ bytes: 4096, contendedBytes: 0 });
  });

  it('nothing for a post the engine refuses: its cost is refunded', async () => {
    start(1024);
    const g = await poster('eager', 4096);

    expect(await codeOf(g.write(4096))).toBe('TOO_LONG');
    expect(g.errors()).toEqual({ TOO_LONG: 1 });
    expect(g.scheduled()).toEqual({ bytes: 0, contendedBytes: 0 });

    expect(await codeOf(g.write(1024))).toBeUndefined();
    expect(g.scheduled()).toEqual({ bytes: 1024, contendedBytes: 0 });
  });
});

import { createLocalCluster, type LocalCluster } from '@vrdma/engine-unimem';
import { createSharedRegion } from '@vrdma/memory';
import { type GlobalAddress, unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from './host.js';
import { service } from './service.js';
import { inProcessGuest } from './testing/in-process.js';

let cluster: LocalCluster | undefined;
let host: Host | undefined;

afterEach(async () => {
  await host?.close();
  await cluster?.shutdown();
});

describe('a remoted guest and 53-bit keys', () => {
  it('carries a key above 32 bits through the data plane, every bit of it', async () => {
    cluster = createLocalCluster({ nodes: [0, 1] });
    host = createHost({ services: [service(unimemSpec, cluster.node(0))] });
    const peer = cluster.node(1).openSession({ label: 'peer' });
    await peer.open();
    const target = await peer.alloc({ size: 256 });
    let exported = await peer.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    // A key is 53 random bits: one in 2^21 is below 2^32; export until one is above.
    while (exported.key < 2 ** 32)
      exported = await peer.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const remote = exported.address as GlobalAddress;

    const guest = await inProcessGuest(host, {
      label: 'wide',
      memory: createSharedRegion(7900, 1 << 20),
    });
    const { channel } = await guest.device.openChannel({ depth: 4 });
    const out = await guest.device.alloc({ size: 256 });
    guest.device.view(out.ref).fill(0x3c);
    const wrong = exported.key - 2 ** 32;
    const first = await guest.device.write({ channel, local: out.ref, remote, key: exported.key });
    const second = await guest.device.write({ channel, local: out.ref, remote, key: wrong });
    const statuses = new Map<number, string>();
    for (let i = 0; i < 100 && statuses.size < 2; i++) {
      const { completions } = await guest.device.wait({ channel, timeoutMs: 100 });
      for (const c of completions) statuses.set(c.transfer, c.status);
    }
    expect(statuses.get(first.transfer)).toBe('ok');
    expect(statuses.get(second.transfer)).toBe('no-permission');
    expect(peer.view(target.ref).every((b) => b === 0x3c)).toBe(true);
  });
});

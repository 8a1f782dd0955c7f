import { createHost, type Host, service } from '@vrdma/backend';
import { createLocalCluster, type LocalCluster } from '@vrdma/engine-unimem';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startThreadGuest } from './thread-guests.js';

let cluster: LocalCluster;
let host: Host;

afterEach(async () => {
  await host?.close();
  await cluster?.shutdown();
});

describe('guests in worker threads', () => {
  it('run an application over virtio and the shm ring, with verified data', async () => {
    cluster = createLocalCluster({ nodes: [0, 1] });
    host = createHost({ services: [service(unimemSpec, cluster.node(0))] });
    const peer = cluster.node(1).openSession();
    await peer.open();
    const target = await peer.alloc({ size: 1 << 20 });
    const { key, address } = await peer.exportBuffer({
      buffer: target.buffer,
      access: 'read-write',
    });
    const guest = await startThreadGuest(host, { label: 'g1', memoryBytes: 8 << 20 });
    const result = await guest.run({
      kind: 'verify',
      target: { address, key, length: 1 << 20 },
      size: 1 << 20,
      seed: 3,
    });
    expect(result).toEqual({
      kind: 'verify',
      result: { node: 0, bytes: 1 << 20, written: true, readBack: true },
    });
    // The guest's own transport metrics, read through its connection: the verify's write and
    // read were posted on the data plane (its waits were answered from its own memory), its
    // allocations went over the control plane.
    const counters = await guest.run({ kind: 'transport-counters' });
    expect(counters.kind).toBe('transport-counters');
    if (counters.kind !== 'transport-counters') return;
    expect(counters.counters.data.messages).toBe(2);
    expect(counters.counters.control.messages).toBeGreaterThanOrEqual(4);
    await guest.kill();
    expect((await guest.attached.departed).ledger).toEqual({
      held: {},
      bytes: 0,
      calls: 0,
      memory: 0,
    });
  });
});

import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { type GlobalAddress, unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from './host.js';
import { service } from './service.js';
import { codeOf } from './testing/code-of.js';
import { inProcessGuest } from './testing/in-process.js';

let cluster: MockCluster;
let host: Host;

afterEach(async () => {
  await host?.close();
});

describe('a guest that floods the host with waits', () => {
  // In-process guests have no completion ring, so their waits are host calls: the case a guest
  // without the 'queues' feature (or a hostile one speaking the wire itself) can make.
  it('holds at most its call quota of them; the next is refused, and another guest goes on', async () => {
    cluster = createMockCluster({ nodes: [0, 1] });
    host = createHost({
      services: [service(unimemSpec, cluster.engine(0))],
      config: { quotas: { calls: 64 } },
    });
    const flooder = await inProcessGuest(host, { label: 'flooder' });
    const { channel: idle } = await flooder.device.openChannel();
    const waits = Array.from({ length: 64 }, () =>
      flooder.device.wait({ channel: idle, timeoutMs: 60_000 }),
    );
    const flooderInfo = () => host.guests().find((g) => g.label === 'flooder')!;
    await expect.poll(() => flooderInfo().ledger.calls).toBe(64);
    // One more than the quota: refused at once, nothing more held.
    expect(await codeOf(flooder.device.wait({ channel: idle, timeoutMs: 60_000 }))).toBe(
      'QUOTA_EXCEEDED',
    );
    expect(flooderInfo().ledger.calls).toBe(64);

    // Another guest's transfers complete meanwhile.
    const peer = cluster.engine(1).openSession({ label: 'peer' });
    await peer.open();
    const target = await peer.alloc({ size: 4096 });
    const { key, address } = await peer.exportBuffer({ buffer: target.buffer, access: 'write' });
    const steady = await inProcessGuest(host, { label: 'steady' });
    const buffer = await steady.device.alloc({ size: 4096 });
    const { channel } = await steady.device.openChannel();
    for (let i = 0; i < 20; i++) {
      const { transfer } = await steady.device.write({
        channel,
        local: buffer.ref,
        remote: address as GlobalAddress,
        key,
      });
      const { completions } = await steady.device.wait({ channel, timeoutMs: 10_000 });
      expect(completions).toEqual([{ transfer, status: 'ok', bytes: 4096 }]);
    }

    // Even its control calls wait for one of its own calls to end: the quota is all it gets.
    expect(await codeOf(flooder.device.closeChannel({ channel: idle }))).toBe('QUOTA_EXCEEDED');
    // When it goes, its waits end and the host keeps nothing of it.
    await flooder.crash();
    const departed = await flooder.attached.departed;
    expect(departed.ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 0 });
    for (const wait of await Promise.allSettled(waits)) expect(wait.status).toBe('rejected');
  });
});

import { describe, expect, it } from 'vitest';
import { createLocalLibfabricCluster } from './local-cluster.js';

const nextTimerRound = () => new Promise((resolve) => setTimeout(resolve, 10));
const immediatesPending = () => process.getActiveResourcesInfo().includes('Immediate');

for (const provider of ['tcp', 'shm'] as const) {
  describe(`an idle engine-libfabric node over ${provider}`, () => {
    it('stops draining its completion queue once its transfers are done', async () => {
      const cluster = createLocalLibfabricCluster({
        nodes: [0, 1],
        config: { provider, iface: 'lo' },
      });
      try {
        const [a, b] = cluster.nodes.map((n) => n.openSession());
        await a!.open();
        await b!.open();
        const target = await b!.alloc({ size: 1 << 20 });
        const { key, address } = await b!.exportBuffer({ buffer: target.buffer, access: 'write' });
        const source = await a!.alloc({ size: 1 << 20 });
        const { channel } = await a!.openChannel();
        await a!.write({ channel, local: source.ref, remote: address, key });
        const { completions } = await a!.wait({ channel, timeoutMs: 10_000 });
        expect(completions).toMatchObject([{ status: 'ok' }]);
        expect(cluster.nodes.every((n) => n.stats().progressTurns > 0)).toBe(true);

        // Wait until nothing is scheduled any more (a kicked shm node lingers a little) ...
        for (let round = 0; round < 1000 && immediatesPending(); round++) await nextTimerRound();
        expect(immediatesPending()).toBe(false);
        const before = cluster.nodes.map((n) => n.stats().progressTurns);
        // ... then through many event-loop rounds no node turns again: no polling, no spinning.
        for (let round = 0; round < 20; round++) await nextTimerRound();
        expect(cluster.nodes.map((n) => n.stats().progressTurns)).toEqual(before);
        expect(cluster.nodes.map((n) => n.stats().inFlight)).toEqual([0, 0]);
      } finally {
        await cluster.shutdown();
      }
    });
  });
}

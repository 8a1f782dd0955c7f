import type { Handle } from '@vrdma/api-spec';
import type { Completion, UnimemSession } from '@vrdma/unimem-api';
import { describe, expect, it } from 'vitest';
import { startLibfabricHosts } from '../testing/libfabric-hosts.js';

const SIZE = 16 << 20;

async function reap(session: UnimemSession, channel: Handle<'Channel'>, count: number) {
  const got: Completion[] = [];
  for (let round = 0; got.length < count && round < 600; round++)
    got.push(...(await session.wait({ channel, timeoutMs: 100 })).completions);
  return got;
}

for (const provider of ['tcp', 'shm'] as const) {
  describe(`engine-libfabric over ${provider}, remoted`, () => {
    it('a guest’s transfers to a host killed with SIGKILL mid-transfer end node-down, and nothing hangs', async () => {
      const cluster = await startLibfabricHosts(provider);
      const guest = cluster.engines[0]!.openSession({ label: 'writer' });
      const owner = cluster.engines[1]!.openSession({ label: 'owner' });
      try {
        await guest.open();
        await owner.open();
        const target = await owner.alloc({ size: SIZE });
        const { key, address } = await owner.exportBuffer({
          buffer: target.buffer,
          access: 'write',
        });
        const source = await guest.alloc({ size: SIZE });
        const depth = 16;
        const { channel } = await guest.openChannel({ depth });
        const post = () => guest.write({ channel, local: source.ref, remote: address, key });
        for (let i = 0; i < depth; i++) await post();
        const first = await reap(guest, channel, 1);
        for (let i = 0; i < first.length; i++) await post();
        cluster.hosts[1]!.kill('SIGKILL');
        const all = [...first, ...(await reap(guest, channel, depth))];
        expect(all).toHaveLength(depth + first.length);
        // Remoted, writes are posted: one the host reaches after it saw the node go is refused
        // with NODE_DOWN, as the call would throw natively; one under way ends node-down.
        const down = (c: Completion) =>
          c.status === 'node-down' || (c.status === 'refused' && c.error === 'NODE_DOWN');
        for (const c of all) expect(c.status === 'ok' || down(c), JSON.stringify(c)).toBe(true);
        expect(all.filter(down).length).toBeGreaterThan(0);
        // The surviving host serves its guest on: it frees what the dead node made it wait for.
        await guest.closeChannel({ channel });
        await guest.free({ buffer: source.buffer });
      } finally {
        await guest.dispose();
        await owner.dispose().catch(() => undefined);
        await cluster.teardown();
      }
    }, 180_000);
  });
}

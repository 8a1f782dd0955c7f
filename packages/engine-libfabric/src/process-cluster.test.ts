import { createHash } from 'node:crypto';
import { isVrdmaError } from '@vrdma/api-spec';
import { type GlobalAddress, offsetAddress } from '@vrdma/unimem-api';
import { expectSameBytes, testPattern } from '@vrdma/unimem-api/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type LibfabricTcpNode, startLibfabricNode } from './index.js';
import {
  loopbackCluster,
  type PeerProcess,
  startPeerProcess,
} from './test-fixtures/peer-process.js';
import { reap } from './test-fixtures/reap.js';

const MiB = 1 << 20;
const BIG = 64 * MiB;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

for (const provider of ['tcp', 'shm'] as const) {
  describe(`engine-libfabric over ${provider}, nodes in separate processes`, () => {
    let local: LibfabricTcpNode | undefined;
    let peer: PeerProcess | undefined;

    afterEach(async () => {
      if (peer && peer.child.exitCode === null && peer.child.signalCode === null) {
        peer.child.stdin!.end();
        await peer.exited;
      }
      await local?.close();
      local = undefined;
      peer = undefined;
    });

    /** This process is node 0; node 1 runs in a child exporting `size` bytes read-write. */
    async function twoProcesses(size: number) {
      const cluster = await loopbackCluster(provider, [0, 1]);
      const starting = startPeerProcess(cluster, 1, size);
      local = await startLibfabricNode({ node: 0, cluster });
      peer = await starting;
      await local.whenConnected();
      const session = local.engine.openSession();
      await session.open();
      return { session, peer, remote: peer.address as GlobalAddress };
    }

    it('writes and reads 1 B to 64 MiB at odd offsets, verified byte for byte in the other process', async () => {
      const { session, peer, remote } = await twoProcesses(BIG + 2);
      const { channel } = await session.openChannel({ depth: 4 });
      const out = await session.alloc({ size: BIG + 2 });
      const back = await session.alloc({ size: BIG + 2 });
      const at = offsetAddress(remote, 1);
      for (const size of [1, 7, 4097, MiB + 3, BIG]) {
        const sent = testPattern(size, size & 0xff);
        session.view(out.ref).set(sent, 1);
        const local = { ...out.ref, offset: out.ref.offset + 1, length: size };
        await session.write({ channel, local, remote: at, key: peer.key });
        expect(await reap(session, channel, 1)).toMatchObject([{ status: 'ok', bytes: size }]);
        expect(await peer.ask(`hash 1 ${size}`)).toBe(sha256(sent));

        const sink = { ...back.ref, offset: back.ref.offset + 1, length: size };
        await session.read({ channel, local: sink, remote: at, key: peer.key });
        expect(await reap(session, channel, 1)).toMatchObject([{ status: 'ok', bytes: size }]);
        expectSameBytes(session.view(sink), sent);
      }
    });

    it('turns transfers to a node killed with SIGKILL mid-transfer into node-down, and nothing hangs', async () => {
      const { session, peer, remote } = await twoProcesses(BIG);
      const depth = 16;
      const { channel } = await session.openChannel({ depth });
      const out = await session.alloc({ size: BIG });
      const post = () => session.write({ channel, local: out.ref, remote, key: peer.key });
      for (let i = 0; i < depth; i++) await post();
      // Top the channel up after the first completions and kill the peer at once: what was
      // just posted is in flight when the process dies.
      const first = await reap(session, channel, 1);
      for (let i = 0; i < first.length; i++) await post();
      peer.child.kill('SIGKILL');
      const rest = await reap(session, channel, depth);
      const all = [...first, ...rest];
      expect(all).toHaveLength(depth + first.length);
      for (const c of all) expect(['ok', 'node-down']).toContain(c.status);
      expect(all.filter((c) => c.status === 'node-down').length).toBeGreaterThan(0);

      await peer.exited;
      // The control connection's end is what tells the node; wait for it, not for a time.
      for (let round = 0; round < 600 && (await session.query()).nodes.length > 1; round++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await session.query()).nodes).toEqual([0]);
      const refused = await post().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isVrdmaError(refused, 'NODE_DOWN'), String(refused)).toBe(true);
      // Nothing stays held: the buffer is free to go.
      await session.free({ buffer: out.buffer });
    });
  });
}

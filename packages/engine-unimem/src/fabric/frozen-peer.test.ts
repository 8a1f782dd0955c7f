import type { Handle } from '@vrdma/api-spec';
import type { GlobalAddress } from '@vrdma/unimem-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnimemSessionImpl } from '../session.js';
import { startTcpNode, type TcpNode } from '../tcp-node.js';
import { freePorts, reap } from '../test-helpers.js';
import { NodeProcess } from './node-process-handle.js';

/**
 * A peer that stops answering without closing its connections (a hung host) must not hang
 * its initiators: after `peerTimeoutMs` without progress its transfers end as node-down, and
 * the link comes back by itself once the peer answers again.
 */
describe('a frozen peer', () => {
  let node0: TcpNode;
  let session: UnimemSessionImpl;
  let peer: NodeProcess;

  beforeAll(async () => {
    const ports = await freePorts(2);
    const cluster = {
      nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })),
      engine: { sessionMemory: 80 * 1024 * 1024 },
    };
    peer = new NodeProcess('node 1');
    await peer.request({ op: 'start', cluster, node: 1 });
    node0 = await startTcpNode({
      cluster,
      node: 0,
      config: { peerTimeoutMs: 300, reconnectMs: 50 },
    });
    await node0.waitForPeers(15_000);
    session = node0.engine.openSession();
    await session.open();
  }, 60_000);

  afterAll(async () => {
    await node0?.shutdown();
    await peer?.kill();
  });

  it('turns its transfers into node-down after the peer timeout, then recovers', async () => {
    const remote = await peer.request<{ buffer: number }>({ op: 'alloc', size: 8 * 1024 * 1024 });
    const { key, address } = await peer.request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: remote.buffer,
      access: 'read-write',
    });
    const source = await session.alloc({ size: 8 * 1024 * 1024 });
    const { channel } = await session.openChannel();
    const post = () => session.write({ channel, local: source.ref, remote: address, key });

    peer.child.kill('SIGSTOP');
    const stuck = await post();
    expect(await reap(session, channel as Handle<'Channel'>, 1)).toEqual([
      { transfer: stuck.transfer, status: 'node-down', bytes: 0 },
    ]);
    expect((await session.query()).nodes).toEqual([0]);

    peer.child.kill('SIGCONT');
    await node0.waitForPeers(15_000);
    const again = await post();
    expect(await reap(session, channel, 1)).toEqual([
      { transfer: again.transfer, status: 'ok', bytes: 8 * 1024 * 1024 },
    ]);
  }, 60_000);

  it('keeps a canceled write’s buffer pinned while the socket holds its bytes, then frees it', async () => {
    // More than the socket buffers can take (autotuned, they reach tens of MiB on loopback).
    const size = 64 * 1024 * 1024;
    const remote = await peer.request<{ buffer: number }>({ op: 'alloc', size });
    const { key, address } = await peer.request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: remote.buffer,
      access: 'write',
    });
    const source = await session.alloc({ size });
    const { channel } = await session.openChannel();
    peer.child.kill('SIGSTOP');
    await session.write({ channel, local: source.ref, remote: address, key });
    // Let the socket fill up (well within the peer timeout: it keeps making progress meanwhile).
    await new Promise((r) => setTimeout(r, 150));
    await session.closeChannel({ channel }); // canceled, but a segment is stuck in the socket
    await expect(session.free({ buffer: source.buffer })).rejects.toMatchObject({ code: 'BUSY' });
    // The hung peer times out, the socket lets go, and the buffer with it.
    let freed = false;
    for (let i = 0; !freed && i < 200; i++) {
      freed = await session.free({ buffer: source.buffer }).then(
        () => true,
        () => false,
      );
      if (!freed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(freed).toBe(true);
    peer.child.kill('SIGCONT');
    await node0.waitForPeers(15_000);
  }, 60_000);
});

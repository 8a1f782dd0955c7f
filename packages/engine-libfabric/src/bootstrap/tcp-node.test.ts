import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackCluster } from '../test-fixtures/peer-process.js';
import type { ClusterFile } from './cluster-file.js';
import { splitHostPort } from './cluster-file.js';
import { type LibfabricTcpNode, startLibfabricNode } from './tcp-node.js';

/** Connects to `control`, sends `lines`, and resolves once the node closed the connection. */
function sendAndWaitForClose(control: string, lines: string[]): Promise<string> {
  const { host, port } = splitHostPort(control);
  return new Promise((resolve) => {
    const socket: Socket = connect(port, host, () => {
      for (const line of lines) socket.write(line);
    });
    let heard = '';
    socket.on('data', (chunk: Buffer) => {
      heard += chunk.toString();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(heard));
  });
}

describe('the control plane of a libfabric cluster', () => {
  const started: LibfabricTcpNode[] = [];
  afterEach(async () => {
    for (const node of started.splice(0)) await node.close();
  });

  async function twoNodes(): Promise<ClusterFile> {
    const cluster = await loopbackCluster('tcp', [0, 1]);
    started.push(await startLibfabricNode({ node: 0, cluster }));
    started.push(await startLibfabricNode({ node: 1, cluster }));
    await Promise.all(started.map((n) => n.whenConnected()));
    return cluster;
  }

  it('drops a connection that sends garbage, an oversized line or an impostor hello, and keeps serving', async () => {
    const cluster = await twoNodes();
    const control = cluster.nodes[0]!.control;
    const impostor = JSON.stringify({ t: 'hello', node: 1, provider: 'tcp;ofi_rxm', name: 'AA==' });
    const hellos = [
      await sendAndWaitForClose(control, ['not json\n']),
      await sendAndWaitForClose(control, ['x'.repeat(10_000)]),
      await sendAndWaitForClose(control, [`${impostor}\n`]),
      await sendAndWaitForClose(control, [`${JSON.stringify({ t: 'kick' })}\n`]),
    ];
    // Each was greeted with node 0's hello before it was dropped.
    for (const heard of hellos) expect(heard).toMatch(/^\{"t":"hello","node":0,/);

    const [a, b] = started.map((n) => n.engine.openSession());
    await a!.open();
    await b!.open();
    expect((await a!.query()).nodes).toEqual([0, 1]);
    const target = await b!.alloc({ size: 64 });
    const { key, address } = await b!.exportBuffer({ buffer: target.buffer, access: 'write' });
    const source = await a!.alloc({ size: 64 });
    a!.view(source.ref).fill(0x33);
    const { channel } = await a!.openChannel();
    const { transfer } = await a!.write({ channel, local: source.ref, remote: address, key });
    let done: { status: string } | undefined;
    for (let round = 0; !done && round < 100; round++)
      done = (await a!.wait({ channel, timeoutMs: 100 })).completions.find(
        (c) => c.transfer === transfer,
      );
    expect(done?.status).toBe('ok');
    expect(b!.view(target.ref).every((x) => x === 0x33)).toBe(true);
  });

  it('announces a revoke to the peer before it returns, so the next transfer is refused', async () => {
    await twoNodes();
    const [a, b] = started.map((n) => n.engine.openSession());
    await a!.open();
    await b!.open();
    const target = await b!.alloc({ size: 64 });
    const { key, address } = await b!.exportBuffer({ buffer: target.buffer, access: 'write' });
    await b!.revoke({ key });
    const source = await a!.alloc({ size: 64 });
    const { channel } = await a!.openChannel();
    await a!.write({ channel, local: source.ref, remote: address, key });
    const { completions } = await a!.wait({ channel, timeoutMs: 10_000 });
    expect(completions).toMatchObject([{ status: 'no-permission', bytes: 0 }]);
  });
});

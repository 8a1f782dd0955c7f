import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpNode, type TcpNode } from '../tcp-node.js';
import { freePorts, reap } from '../test-helpers.js';
import { encodeHeader, MessageType, PROTOCOL_MAGIC } from './protocol.js';
import { MAX_UNAUTHENTICATED } from './tcp-fabric.js';
import { dialAsPeer } from './test-peer.js';

const SECRET = 'c1u5ter-s3cret-4f9b2e7d0a6c8e1f';

let nodes: TcpNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

/** Waits for a condition the node reaches on its own (a line logged): events, not time. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

/** A node-0-to-node-1 write of 64 bytes, checked byte for byte: the cluster still works. */
async function writeAcross(from: TcpNode, to: TcpNode): Promise<void> {
  const owner = to.engine.openSession();
  const user = from.engine.openSession();
  await owner.open();
  await user.open();
  const target = await owner.alloc({ size: 64 });
  const { key, address } = await owner.exportBuffer({ buffer: target.buffer, access: 'write' });
  const source = await user.alloc({ size: 64 });
  user.view(source.ref).fill(0x5a);
  const { channel } = await user.openChannel();
  await user.write({ channel, local: source.ref, remote: address, key });
  expect((await reap(user, channel, 1))[0]!.status).toBe('ok');
  expect(owner.view(target.ref).every((b) => b === 0x5a)).toBe(true);
  await user.dispose();
  await owner.dispose();
}

describe('fabric authentication', () => {
  it('refuses a peer without the secret, or with a wrong one, with a log line; the cluster keeps working', async () => {
    const ports = await freePorts(2);
    const cluster = {
      nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })),
      secret: SECRET,
    };
    const logs: string[][] = [[], []];
    nodes = await Promise.all(
      [0, 1].map((node) => startTcpNode({ cluster, node, log: (line) => logs[node]!.push(line) })),
    );
    await Promise.all(nodes.map((n) => n.waitForPeers(10_000)));

    // No secret (the empty key a node without one uses), then a wrong one: both dropped.
    for (const secret of [undefined, `${SECRET}-wrong`]) {
      const impostor = await dialAsPeer(ports[1]!, 7, secret);
      await impostor.closed;
    }
    await until(() => logs[1]!.length >= 2, 'two refusals logged');
    for (const line of logs[1]!)
      expect(line).toMatch(
        /^fabric: node 1 refused the connection from 127\.0\.0\.1:\d+ claiming to be node 7: wrong fabric secret/,
      );

    // A peer of the old protocol (version 1: a HELLO without a nonce) is refused too.
    const old = connect({ host: '127.0.0.1', port: ports[1]! });
    old.on('error', () => {});
    const oldClosed = new Promise((resolve) => old.once('close', resolve));
    old.write(encodeHeader({ type: MessageType.HELLO, status: 1, node: 7, key: PROTOCOL_MAGIC }));
    await oldClosed;
    await until(() => logs[1]!.some((l) => /protocol version 1/.test(l)), 'version refusal');

    expect(nodes[0]!.fabric.isUp(1)).toBe(true);
    await writeAcross(nodes[0]!, nodes[1]!);
  });

  it('keeps a node with a wrong secret out: neither side takes the other for a node', async () => {
    const ports = await freePorts(3);
    const cluster = {
      nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })),
      secret: SECRET,
    };
    const logs: string[][] = [[], [], []];
    const log = (node: number) => (line: string) => logs[node]!.push(line);
    nodes = await Promise.all(
      [0, 1].map((node) => startTcpNode({ cluster, node, log: log(node) })),
    );
    const intruder = await startTcpNode({
      cluster,
      node: 2,
      secret: 'another-secret-entirely-0000',
      log: log(2),
    });
    nodes.push(intruder);
    await Promise.all(
      nodes.slice(0, 2).map((n) =>
        n.waitForPeers(
          10_000,
          [0, 1].filter((x) => x !== n.engine.node),
        ),
      ),
    );
    await until(
      () => logs[0]!.some((l) => /refused node 2 at .*wrong fabric secret/.test(l)),
      'node 0 refusing node 2',
    );
    await until(
      () => logs[2]!.some((l) => /refused node 0 at .*wrong fabric secret/.test(l)),
      'node 2 refusing node 0',
    );
    expect(nodes[0]!.fabric.isUp(2)).toBe(false);
    expect(intruder.fabric.isUp(0)).toBe(false);
    expect(intruder.fabric.isUp(1)).toBe(false);
    // Redialled every reconnectMs, a refusal is still logged once per peer, not each time.
    expect(logs[0]!.filter((l) => /refused node 2/.test(l))).toHaveLength(1);
    await writeAcross(nodes[0]!, nodes[1]!);
  });
});

describe('connections that never authenticate', () => {
  it('are held at most MAX_UNAUTHENTICATED at once; nodes still meet and move data', async () => {
    const ports = await freePorts(2);
    const cluster = {
      nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })),
      secret: SECRET,
    };
    const logs: string[] = [];
    nodes = await Promise.all(
      [0, 1].map((node) => startTcpNode({ cluster, node, log: (line) => logs.push(line) })),
    );
    await Promise.all(nodes.map((n) => n.waitForPeers(10_000)));
    const silent: Socket[] = [];
    const openSilent = () =>
      new Promise<Socket>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: ports[1]! }, () => resolve(socket));
        socket.on('error', () => {});
        silent.push(socket);
      });
    try {
      for (let i = 0; i < MAX_UNAUTHENTICATED; i++) await openSilent();
      const extra = await openSilent();
      await new Promise((resolve) => extra.once('close', resolve));
      await until(() => logs.some((l) => /connections are still authenticating/.test(l)), 'cap');
      // The cap holds strangers only: node 0, already in, keeps moving data.
      await writeAcross(nodes[0]!, nodes[1]!);
    } finally {
      for (const socket of silent) socket.destroy();
    }
  });
});

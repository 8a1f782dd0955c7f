import { MAX_WIDE_CAPABILITY } from '@vrdma/api-spec';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpNode, type TcpNode } from './tcp-node.js';
import { freePorts, reap } from './test-helpers.js';

let nodes: TcpNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

describe('53-bit remote keys', () => {
  it('are minted above 32 bits, and work across the TCP fabric', async () => {
    const ports = await freePorts(2);
    const cluster = { nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })) };
    nodes = await Promise.all([0, 1].map((node) => startTcpNode({ cluster, node })));
    await Promise.all(nodes.map((n) => n.waitForPeers(10_000)));
    const owner = nodes[1]!.engine.openSession();
    const user = nodes[0]!.engine.openSession();
    await owner.open();
    await user.open();
    const target = await owner.alloc({ size: 64 });
    const keys: number[] = [];
    for (let i = 0; i < 64; i++)
      keys.push((await owner.exportBuffer({ buffer: target.buffer, access: 'read-write' })).key);
    for (const key of keys) {
      expect(Number.isSafeInteger(key)).toBe(true);
      expect(key).toBeGreaterThan(0);
      expect(key).toBeLessThanOrEqual(MAX_WIDE_CAPABILITY);
    }
    // 64 keys of 53 random bits all below 2^32: about 2^-1344; below 2^48: 2^-320.
    expect(keys.some((key) => key >= 2 ** 48)).toBe(true);

    const wide = keys.find((key) => key >= 2 ** 32)!;
    const { address } = await owner.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const source = await user.alloc({ size: 64 });
    user.view(source.ref).fill(0xa5);
    const { channel } = await user.openChannel();
    await user.write({ channel, local: source.ref, remote: address, key: wide });
    // The same key but for its bits above 32 is another key: the fabric carries every bit.
    await user.write({ channel, local: source.ref, remote: address, key: wide - 2 ** 32 });
    const [first, second] = await reap(user, channel, 2);
    expect(first!.status).toBe('ok');
    expect(second!.status).toBe('no-permission');
    expect(owner.view(target.ref).every((b) => b === 0xa5)).toBe(true);
  });
});

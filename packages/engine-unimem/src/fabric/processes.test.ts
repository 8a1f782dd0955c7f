import { type BufferRef, type Handle, isVrdmaError } from '@vrdma/api-spec';
import {
  type Completion,
  type DeviceInfo,
  type GlobalAddress,
  offsetAddress,
} from '@vrdma/unimem-api';
import { expectSameBytes, testPattern } from '@vrdma/unimem-api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnimemSessionImpl } from '../session.js';
import { startTcpNode, type TcpNode } from '../tcp-node.js';
import { freePorts, reap } from '../test-helpers.js';
import { NodeProcess } from './node-process-handle.js';

const MiB = 1024 * 1024;

interface Allocated {
  buffer: number;
  ref: BufferRef;
  address: GlobalAddress;
}

/**
 * Three processes, three nodes: this one (node 0) and two children (nodes 1 and 2), joined by
 * the TCP fabric on 127.0.0.1. Bytes are checked where they land, byte for byte.
 */
describe('a cluster of three processes over the TCP fabric', () => {
  let node0: TcpNode;
  let session: UnimemSessionImpl;
  let channel: Handle<'Channel'>;
  const children = new Map<number, NodeProcess>();
  const retired: NodeProcess[] = [];
  let cluster: { nodes: { id: number; host: string; port: number }[]; engine: object };
  const child = (id: number) => children.get(id)!;

  beforeAll(async () => {
    const ports = await freePorts(3);
    cluster = {
      nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })),
      engine: { sessionMemory: 160 * MiB },
    };
    for (const id of [1, 2]) children.set(id, new NodeProcess(`node ${id}`));
    await Promise.all([1, 2].map((id) => child(id).request({ op: 'start', cluster, node: id })));
    node0 = await startTcpNode({ cluster, node: 0 });
    await node0.waitForPeers(15_000);
    await Promise.all(
      [1, 2].map((id) => child(id).request({ op: 'waitPeers', timeoutMs: 15_000 })),
    );
    session = node0.engine.openSession({ label: 'test process' });
    await session.open();
    channel = (await session.openChannel({ depth: 64 })).channel;
  }, 60_000);

  afterAll(async () => {
    await node0?.shutdown();
    for (const c of [...children.values(), ...retired]) await c.kill();
  });

  async function transfer(
    kind: 'write' | 'read',
    local: BufferRef,
    remote: GlobalAddress,
    key: number,
  ): Promise<Completion> {
    const { transfer: id } = await session[kind]({ channel, local, remote, key });
    const [done] = await reap(session, channel, 1);
    expect(done!.transfer).toBe(id);
    return done!;
  }

  it('sees every node', async () => {
    expect((await session.query()).nodes).toEqual([0, 1, 2]);
    const info = await child(2).request<DeviceInfo>({ op: 'query' });
    expect(info).toMatchObject({ node: 2, nodes: [0, 1, 2] });
  });

  it.each([1, 7, 65_537, MiB + 3, 64 * MiB])(
    'writes %i bytes into another process’s node at odd offsets and reads them back',
    async (size) => {
      const remote = await child(1).request<Allocated>({ op: 'alloc', size: size + 16 });
      const { key, address } = await child(1).request<{ key: number; address: GlobalAddress }>({
        op: 'export',
        buffer: remote.buffer,
        access: 'read-write',
      });
      const source = await session.alloc({ size: size + 16 });
      const sink = await session.alloc({ size: size + 16 });
      const sent = testPattern(size, size & 0xff);
      session.view(source.ref).set(sent, 3);

      const put = await transfer(
        'write',
        { ...source.ref, offset: source.ref.offset + 3, length: size },
        offsetAddress(address, 5),
        key,
      );
      expect(put).toMatchObject({ status: 'ok', bytes: size });
      const landed = { ...remote.ref, offset: remote.ref.offset + 5, length: size };
      expect(await child(1).request({ op: 'check', ref: landed, seed: size & 0xff })).toBe(-1);
      const before = { ...remote.ref, offset: remote.ref.offset + 4, length: 1 };
      expect(await child(1).request({ op: 'isZero', ref: before })).toBe(true);

      const get = await transfer(
        'read',
        { ...sink.ref, offset: sink.ref.offset + 7, length: size },
        offsetAddress(address, 5),
        key,
      );
      expect(get).toMatchObject({ status: 'ok', bytes: size });
      expectSameBytes(session.view(sink.ref).subarray(7, 7 + size), sent);

      await session.free({ buffer: source.buffer });
      await session.free({ buffer: sink.buffer });
      await child(1).request({ op: 'free', buffer: remote.buffer });
    },
    60_000,
  );

  it('moves bytes between the two child processes, and from this one to a child', async () => {
    const size = 3 * MiB + 1;
    const from1 = await child(1).request<Allocated>({ op: 'alloc', size });
    await child(1).request({ op: 'fill', ref: from1.ref, seed: 21 });
    const at2 = await child(2).request<Allocated>({ op: 'alloc', size });
    const k2 = await child(2).request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: at2.buffer,
      access: 'write',
    });
    const done = await child(1).request<Completion>({
      op: 'transfer',
      kind: 'write',
      local: from1.ref,
      remote: k2.address,
      key: k2.key,
    });
    expect(done).toMatchObject({ status: 'ok', bytes: size });
    expect(await child(2).request({ op: 'check', ref: at2.ref, seed: 21 })).toBe(-1);

    // Node 2 reads from node 0's memory.
    const mine = await session.alloc({ size });
    session.view(mine.ref).set(testPattern(size, 22));
    const k0 = await session.exportBuffer({ buffer: mine.buffer, access: 'read' });
    const into2 = await child(2).request<Allocated>({ op: 'alloc', size });
    const got = await child(2).request<Completion>({
      op: 'transfer',
      kind: 'read',
      local: into2.ref,
      remote: k0.address,
      key: k0.key,
    });
    expect(got).toMatchObject({ status: 'ok', bytes: size });
    expect(await child(2).request({ op: 'check', ref: into2.ref, seed: 22 })).toBe(-1);
    await session.free({ buffer: mine.buffer });
  });

  it('checks keys on the owning node: permission, range and revoke', async () => {
    const remote = await child(1).request<Allocated>({ op: 'alloc', size: 4096 });
    await child(1).request({ op: 'fill', ref: remote.ref, seed: 31 });
    const readOnly = await child(1).request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: remote.buffer,
      access: 'read',
    });
    const writable = await child(1).request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: remote.buffer,
      access: 'write',
    });
    const source = await session.alloc({ size: 4096 });
    session.view(source.ref).fill(0x5c);
    expect((await transfer('write', source.ref, readOnly.address, readOnly.key)).status).toBe(
      'no-permission',
    );
    expect((await transfer('read', source.ref, writable.address, writable.key)).status).toBe(
      'no-permission',
    );
    expect(
      (await transfer('write', source.ref, offsetAddress(writable.address, 1), writable.key))
        .status,
    ).toBe('no-permission');
    expect(await child(1).request({ op: 'check', ref: remote.ref, seed: 31 })).toBe(-1);
    await child(1).request({ op: 'revoke', key: writable.key });
    expect((await transfer('write', source.ref, writable.address, writable.key)).status).toBe(
      'no-permission',
    );
    expect(await child(1).request({ op: 'check', ref: remote.ref, seed: 31 })).toBe(-1);
    await session.free({ buffer: source.buffer });
  });

  it('turns the transfers of a killed peer into node-down; the others finish', async () => {
    const big = 16 * MiB;
    const at2 = await child(2).request<Allocated>({ op: 'alloc', size: big });
    const k2 = await child(2).request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: at2.buffer,
      access: 'read-write',
    });
    const at1 = await child(1).request<Allocated>({ op: 'alloc', size: 4 * MiB });
    const k1 = await child(1).request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: at1.buffer,
      access: 'read-write',
    });
    const source = await session.alloc({ size: big });
    session.view(source.ref).set(testPattern(big, 9));
    const sink = await session.alloc({ size: 4 * MiB });
    const to1 = (await session.openChannel({ depth: 16 })).channel;
    const to2 = (await session.openChannel({ depth: 16 })).channel;

    // Frozen first, so that none of its transfers can finish; then killed mid-transfer.
    child(2).child.kill('SIGSTOP');
    const doomed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const local = { ...source.ref, length: big };
      doomed.push(
        (await session.write({ channel: to2, local, remote: k2.address, key: k2.key })).transfer,
      );
    }
    doomed.push(
      (await session.read({ channel: to2, local: sink.ref, remote: k2.address, key: k2.key }))
        .transfer,
    );
    const fine: number[] = [];
    for (let i = 0; i < 4; i++) {
      const local = { ...source.ref, offset: source.ref.offset + i * MiB, length: MiB };
      const remote = offsetAddress(k1.address, i * MiB);
      fine.push((await session.write({ channel: to1, local, remote, key: k1.key })).transfer);
    }
    await child(2).kill('SIGKILL');

    const lost = await reap(session, to2, doomed.length);
    expect(lost).toEqual(doomed.map((transfer) => ({ transfer, status: 'node-down', bytes: 0 })));
    const ok = await reap(session, to1, fine.length);
    expect(ok.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const check = { ...at1.ref, length: 4 * MiB };
    const back = await child(1).request({ op: 'check', ref: check, seed: 9 });
    expect(back).toBe(-1);

    // The dead node is gone from the cluster view; new transfers to it are refused at once.
    expect((await session.query()).nodes).toEqual([0, 1]);
    const refused = await session
      .write({ channel: to2, local: sink.ref, remote: k2.address, key: k2.key })
      .catch((e: unknown) => e);
    expect(isVrdmaError(refused, 'NODE_DOWN')).toBe(true);
    // Nothing still holds the local buffers.
    await session.free({ buffer: source.buffer });
    await session.free({ buffer: sink.buffer });
    for (let i = 0; i < 100; i++) {
      const info = await child(1).request<DeviceInfo>({ op: 'query' });
      if (!info.nodes.includes(2)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await child(1).request<DeviceInfo>({ op: 'query' })).nodes).toEqual([0, 1]);
  }, 60_000);

  it('lets a restarted node rejoin; killed while transfers stream, none hangs', async () => {
    retired.push(child(2));
    const fresh = new NodeProcess('node 2, restarted');
    children.set(2, fresh);
    await fresh.request({ op: 'start', cluster, node: 2 });
    await node0.waitForPeers(15_000, [2]); // the link redials by itself
    await fresh.request({ op: 'waitPeers', timeoutMs: 15_000 });
    expect((await session.query()).nodes).toEqual([0, 1, 2]);

    const size = 16 * MiB;
    const at2 = await fresh.request<Allocated>({ op: 'alloc', size });
    const k2 = await fresh.request<{ key: number; address: GlobalAddress }>({
      op: 'export',
      buffer: at2.buffer,
      access: 'write',
    });
    const source = await session.alloc({ size });
    const { channel: ch } = await session.openChannel({ depth: 16 });
    const ids: number[] = [];
    for (let i = 0; i < 16; i++)
      ids.push(
        (await session.write({ channel: ch, local: source.ref, remote: k2.address, key: k2.key }))
          .transfer,
      );
    // The first one landed: the stream is running. Kill the owner now.
    const [first] = await reap(session, ch, 1);
    expect(first).toMatchObject({ transfer: ids[0], status: 'ok' });
    await fresh.kill('SIGKILL');

    const rest = await reap(session, ch, 15);
    expect(rest.map((c) => c.transfer)).toEqual(ids.slice(1));
    for (const c of rest) expect(['ok', 'node-down']).toContain(c.status);
    expect(rest.filter((c) => c.status === 'node-down').length).toBeGreaterThan(0);
    await session.free({ buffer: source.buffer });
  }, 60_000);
});

import { connect, type Socket } from 'node:net';
import { offsetAddress } from '@vrdma/unimem-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnimemSessionImpl } from '../session.js';
import { startTcpNode, type TcpNode } from '../tcp-node.js';
import { freePorts, reap } from '../test-helpers.js';
import { encodeHeader, HEADER_SIZE, MessageType, statusOf } from './protocol.js';
import { dialAsPeer } from './test-peer.js';

/** Whatever a connection sends, the node drops that connection at worst and serves on. */
describe('a node facing a hostile peer connection', () => {
  let nodes: TcpNode[];
  let owner: UnimemSessionImpl;
  let user: UnimemSessionImpl;
  let port: number;
  let exported: { key: number; address: bigint };
  let target: Awaited<ReturnType<UnimemSessionImpl['alloc']>>;
  const refusals: string[] = [];

  beforeAll(async () => {
    const ports = await freePorts(2);
    port = ports[1]!;
    const cluster = { nodes: ports.map((p, id) => ({ id, host: '127.0.0.1', port: p })) };
    nodes = await Promise.all(
      [0, 1].map((node) =>
        startTcpNode({
          cluster,
          node,
          config: { peerTimeoutMs: 200 },
          log: (line) => refusals.push(line),
        }),
      ),
    );
    await Promise.all(nodes.map((n) => n.waitForPeers(10_000)));
    owner = nodes[1]!.engine.openSession();
    user = nodes[0]!.engine.openSession();
    await owner.open();
    await user.open();
    target = await owner.alloc({ size: 4096 });
    exported = await owner.exportBuffer({ buffer: target.buffer, access: 'read-write' });
  });

  afterAll(async () => {
    for (const n of nodes ?? []) await n.shutdown();
  });

  /**
   * Sends `bytes` on a fresh connection and resolves with what came back once the node closes
   * it (`closed`) or the reply is `enough`. Both are events: the 10 s bound only turns a node
   * that does neither into a clear failure (`closed: false`), and leaves a machine ten times
   * slower than ours ample room.
   */
  async function exchange(
    bytes: Uint8Array,
    enough: (reply: Buffer) => boolean = () => false,
    { authenticated = true } = {},
  ): Promise<{ closed: boolean; reply: Buffer }> {
    // Past the handshake (as a node of this cluster, which has no secret), unless told otherwise.
    const peer = authenticated ? await dialAsPeer(port, 9) : undefined;
    return new Promise((resolve) => {
      const socket: Socket = peer?.socket ?? connect({ host: '127.0.0.1', port });
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => finish(false), 10_000);
      function finish(closed: boolean) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ closed, reply: Buffer.concat(chunks) });
      }
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        if (enough(Buffer.concat(chunks))) finish(false);
      });
      socket.on('error', () => {});
      socket.on('close', () => finish(true));
      if (peer) socket.write(bytes);
      else socket.on('connect', () => socket.write(bytes));
    });
  }

  /** Sends `bytes` past the handshake and hangs up after `idleMs` of silence or a close. */
  async function sendAndHangUp(bytes: Uint8Array, idleMs: number): Promise<void> {
    const { socket } = await dialAsPeer(port, 9);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(finish, idleMs);
      };
      socket.on('data', idle);
      socket.on('error', () => {});
      socket.on('close', finish);
      socket.write(bytes);
      idle();
    });
  }

  async function stillServes(): Promise<void> {
    const source = await user.alloc({ size: 64 });
    user.view(source.ref).fill(0x42);
    const { channel } = await user.openChannel();
    await user.write({
      channel,
      local: source.ref,
      remote: exported.address as never,
      key: exported.key,
    });
    expect((await reap(user, channel, 1))[0]!.status).toBe('ok');
    await user.closeChannel({ channel });
    await user.free({ buffer: source.buffer });
  }

  it('drops a connection that does not start with HELLO', async () => {
    const { closed } = await exchange(
      encodeHeader({ type: MessageType.WRITE, length: 8 }),
      undefined,
      {
        authenticated: false,
      },
    );
    expect(closed).toBe(true);
    await stillServes();
  });

  it('answers a bad key with no-permission and drops data for requests it refused', async () => {
    owner.view(target.ref).fill(0);
    const message = Buffer.concat([
      encodeHeader({
        type: MessageType.WRITE,
        request: 1,
        // The key with its lowest bit flipped (keys are 53 bits: no 32-bit bit operators).
        key: exported.key % 2 === 0 ? exported.key + 1 : exported.key - 1,
        length: 4,
        address: exported.address,
      }),
      encodeHeader({ type: MessageType.WRITE_DATA, request: 1, length: 4, address: 0n }),
      Buffer.from([1, 2, 3, 4]),
    ]);
    // The refused WRITE's WRITE_DONE: one header.
    const { reply } = await exchange(message, (bytes) => bytes.length >= HEADER_SIZE);
    const done = reply.subarray(0, HEADER_SIZE);
    expect(done[0]).toBe(MessageType.WRITE_DONE);
    expect(statusOf(done[1]!)).toBe('no-permission');
    expect(owner.view(target.ref).every((x) => x === 0)).toBe(true);
  });

  it('drops a connection whose data segments run past the transfer', async () => {
    const message = Buffer.concat([
      encodeHeader({
        type: MessageType.WRITE,
        request: 1,
        key: exported.key,
        length: 4,
        address: offsetAddress(exported.address as never, 8),
      }),
      encodeHeader({ type: MessageType.WRITE_DATA, request: 1, length: 8, address: 0n }),
      Buffer.alloc(8, 0xff),
    ]);
    const { closed } = await exchange(message);
    expect(closed).toBe(true);
    expect(
      owner
        .view(target.ref)
        .subarray(8, 16)
        .every((x) => x !== 0xff),
    ).toBe(true);
    await stillServes();
  });

  it('survives random bytes after the handshake', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (junk) => {
        // Whatever the node makes of it (what it answers is not the point): it must serve on.
        await sendAndHangUp(junk, 20);
      }),
      { numRuns: 25 },
    );
    await stillServes();
  });

  it('drops a peer that stalls mid-write, so the buffer it pinned can be freed', async () => {
    const pinned = await owner.alloc({ size: 4096 });
    const k = await owner.exportBuffer({ buffer: pinned.buffer, access: 'write' });
    const { socket, closed } = await dialAsPeer(port, 9);
    let received = 0;
    // The refused READ's READ_DONE: proof the WRITE before it was taken in.
    const answered = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= HEADER_SIZE) resolve();
      }),
    );
    socket.write(
      Buffer.concat([
        encodeHeader({
          type: MessageType.WRITE,
          request: 1,
          key: k.key,
          length: 4096,
          address: k.address,
        }),
        encodeHeader({ type: MessageType.WRITE_DATA, request: 1, length: 100, address: 0n }),
        Buffer.alloc(100, 1),
        encodeHeader({ type: MessageType.READ, request: 2, key: 0, length: 1, address: k.address }),
      ]),
    );
    await Promise.race([answered, closed]);
    // Admitted and half written, then silence: the owner holds the buffer...
    await expect(owner.free({ buffer: pinned.buffer })).rejects.toMatchObject({ code: 'BUSY' });
    // ...until the peer timeout drops the connection.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
    expect(socket.destroyed).toBe(true);
    // The owner's side of the connection closes too (its own event, maybe a moment later).
    let freed = false;
    for (let i = 0; !freed && i < 200; i++) {
      freed = await owner.free({ buffer: pinned.buffer }).then(
        () => true,
        () => false,
      );
      if (!freed) await new Promise((r) => setTimeout(r, 20));
    }
    expect(freed).toBe(true);
  });
});

import { createHash } from 'node:crypto';
import type { BufferRef } from '@vrdma/api-spec';
import { CompletionWaiter } from './completion-waiter.js';
import { connectQp, createEndpoint, type Endpoint } from './endpoint.js';
import type { VerbsSession } from './engine.js';
import { type OutOfBand, outOfBandPair } from './out-of-band.js';
import type { WcOpcode, WcStatus, WorkCompletion } from './spec.js';

export interface PingPongOptions {
  /** Message sizes, in bytes, each run once per round. */
  sizes?: readonly number[];
  rounds?: number;
}

/** One work request of a side, as its completion reported it. */
export interface PingPongStep {
  opcode: WcOpcode;
  size: number;
  status: WcStatus;
  byteLen: number;
}

/** What one side saw. */
export interface PingPongSideResult {
  steps: PingPongStep[];
  /** Bytes this side checked byte for byte against what the other side sent or wrote. */
  bytesVerified: number;
  /** SHA-256 of every payload this side received, read or found written, in order. */
  digest: string;
}

export interface PingPongResult {
  a: PingPongSideResult;
  b: PingPongSideResult;
}

export const DEFAULT_PING_PONG_SIZES = [1, 64, 4096, 65_536] as const;

/** The payload of one step: deterministic, distinct per size, round and step, known to both sides. */
export function pingPongPattern(size: number, round: number, step: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const seed = (size * 131 + round * 17 + step * 7) & 0xff;
  for (let i = 0; i < size; i++) bytes[i] = (seed + i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

/**
 * One side of the verbs ping-pong; the other runs the other role, on another node, anywhere.
 * They connect one RC queue pair each by exchanging node, queue pair number, address and rkey
 * out of band. Each round and size: A SENDs a ping into B's posted receive, B SENDs it back
 * into A's; A RDMA WRITEs into B's region and RDMA READs it back, then tells B out of band,
 * which checks what landed. Every payload is checked byte for byte; a mismatch or a failed
 * work request throws. The same on a native session and on a remoted one.
 */
export async function runPingPongSide(
  session: VerbsSession,
  role: 'a' | 'b',
  peer: OutOfBand,
  options: PingPongOptions = {},
): Promise<PingPongSideResult> {
  const sizes = options.sizes ?? DEFAULT_PING_PONG_SIZES;
  const rounds = options.rounds ?? 2;
  const largest = Math.max(...sizes);
  // Two areas: A sends from the first and takes pongs and reads in the second; B receives in
  // the first and is written to in the second.
  const end = await createEndpoint(session, { regionBytes: 2 * largest });
  peer.send({
    node: end.self.node,
    qpNum: end.self.qpNum,
    address: end.region.address.toString(),
    rkey: end.region.rkey,
  });
  const remote = await peer.receive();
  await connectQp(session, end.qp, { node: Number(remote.node), qpNum: Number(remote.qpNum) });
  // A requester that sends before its responder is ready to receive gets no answer (verbs:
  // retry-exceeded): each side says when its queue pair is connected, as applications do.
  peer.send({ connected: true });
  if ((await peer.receive()).connected !== true)
    throw new Error(`${role}: the peer did not connect`);

  const waiter = new CompletionWaiter(session);
  const digest = createHash('sha256');
  const steps: PingPongStep[] = [];
  let bytesVerified = 0;
  const area = (index: 0 | 1, size: number): BufferRef => part(end, index * largest, size);
  const check = (ref: BufferRef, want: Uint8Array, what: string) => {
    const got = session.view(ref);
    if (Buffer.compare(got, want) !== 0) throw new Error(`${role}: ${what}: the bytes differ`);
    digest.update(got);
    bytesVerified += got.length;
  };
  const done = async (posted: Promise<{ post: number }>, size: number) => {
    const c: WorkCompletion = await waiter.completionOf(end.cq, (await posted).post, 30_000);
    steps.push({ opcode: c.opcode, size, status: c.status, byteLen: c.byteLen });
    if (c.status !== 'success')
      throw new Error(`${role}: ${c.opcode} of ${size} bytes: ${c.status}`);
  };
  const post = { cq: end.cq, qp: end.qp, lkey: end.region.lkey };

  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      const ping = pingPongPattern(size, round, 0);
      const written = pingPongPattern(size, round, 1);
      if (role === 'a') {
        const pong = session.postRecv({ ...post, wrId: 3n, local: area(1, size) });
        session.view(area(0, size)).set(ping);
        await done(
          session.postSend({ ...post, wrId: 1n, opcode: 'send', local: area(0, size) }),
          size,
        );
        await done(pong, size);
        check(area(1, size), ping, `pong of ${size} bytes`);

        const remoteAddress = BigInt(remote.address as string) + BigInt(largest);
        const rdma = { ...post, remoteAddress, rkey: Number(remote.rkey) };
        session.view(area(0, size)).set(written);
        await done(
          session.postSend({ ...rdma, wrId: 5n, opcode: 'rdma-write', local: area(0, size) }),
          size,
        );
        session.view(area(1, size)).fill(0);
        await done(
          session.postSend({ ...rdma, wrId: 6n, opcode: 'rdma-read', local: area(1, size) }),
          size,
        );
        check(area(1, size), written, `RDMA READ of ${size} bytes`);
        peer.send({ written: size, round });
      } else {
        await done(session.postRecv({ ...post, wrId: 2n, local: area(0, size) }), size);
        check(area(0, size), ping, `ping of ${size} bytes`);
        await done(
          session.postSend({ ...post, wrId: 4n, opcode: 'send', local: area(0, size) }),
          size,
        );
        const told = await peer.receive();
        if (told.written !== size || told.round !== round)
          throw new Error(`b: out of step: ${JSON.stringify(told)}`);
        check(area(1, size), written, `RDMA WRITE of ${size} bytes`);
      }
    }
  }

  await session.destroyQp({ qp: end.qp });
  await session.deregMr({ mr: end.region.mr });
  await session.destroyCq({ cq: end.cq });
  await session.deallocPd({ pd: end.pd });
  return { steps, bytesVerified, digest: digest.digest('hex') };
}

/** Both sides of the ping-pong in this process, on two sessions (of two nodes). */
export async function runPingPong(
  a: VerbsSession,
  b: VerbsSession,
  options: PingPongOptions = {},
): Promise<PingPongResult> {
  const [toB, toA] = outOfBandPair();
  const [left, right] = await Promise.all([
    runPingPongSide(a, 'a', toB, options),
    runPingPongSide(b, 'b', toA, options),
  ]);
  return { a: left, b: right };
}

function part(end: Endpoint, at: number, length: number): BufferRef {
  return { ...end.region.ref, offset: end.region.ref.offset + at, length };
}

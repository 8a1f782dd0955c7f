import { createHash } from 'node:crypto';
import { CompletionWaiter } from './completion-waiter.js';
import { connectQp, createEndpoint, type Endpoint } from './endpoint.js';
import type { VerbsSession } from './engine.js';
import type { WcOpcode, WcStatus } from './spec.js';

export interface PingPongOptions {
  /** Message sizes, in bytes, each run once per round. */
  sizes?: readonly number[];
  rounds?: number;
}

/** One work request of the run, as its completion reported it. */
export interface PingPongStep {
  side: 'a' | 'b';
  opcode: WcOpcode;
  size: number;
  status: WcStatus;
  byteLen: number;
}

export interface PingPongResult {
  steps: PingPongStep[];
  /** Bytes checked byte for byte against what was sent or written. */
  bytesVerified: number;
  /** SHA-256 of every payload received or read, in order: equal runs give equal digests. */
  digest: string;
}

/** The payload of one step: deterministic, distinct per size, round and step. */
export function pingPongPattern(size: number, round: number, step: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const seed = (size * 131 + round * 17 + step * 7) & 0xff;
  for (let i = 0; i < size; i++) bytes[i] = (seed + i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

/**
 * The verbs ping-pong: two devices (two nodes), one RC queue pair each, connected by exchanging
 * node and queue pair numbers as applications do out of band. Each round and size: A SENDs a
 * ping into B's posted receive, B SENDs it back as the pong into A's; A RDMA WRITEs into B's
 * region and RDMA READs it back. Every payload is checked byte for byte; a mismatch throws.
 * Runs the same on native sessions and on remoted ones.
 */
export async function runPingPong(
  a: VerbsSession,
  b: VerbsSession,
  options: PingPongOptions = {},
): Promise<PingPongResult> {
  const sizes = options.sizes ?? [1, 64, 4096, 65_536];
  const rounds = options.rounds ?? 2;
  const largest = Math.max(...sizes);
  // A: [send area | read-back area]; B: [receive area | RDMA target].
  const left = await createEndpoint(a, { regionBytes: 2 * largest });
  const right = await createEndpoint(b, { regionBytes: 2 * largest });
  await connectQp(a, left.qp, right.self);
  await connectQp(b, right.qp, left.self);

  const waitA = new CompletionWaiter(a);
  const waitB = new CompletionWaiter(b);
  const digest = createHash('sha256');
  const steps: PingPongStep[] = [];
  let bytesVerified = 0;
  const part = (end: Endpoint, at: number, size: number) => ({
    ...end.region.ref,
    offset: end.region.ref.offset + at,
    length: size,
  });
  const check = (got: Uint8Array, want: Uint8Array, what: string) => {
    if (Buffer.compare(got, want) !== 0) throw new Error(`${what}: the bytes differ`);
    digest.update(got);
    bytesVerified += got.length;
  };
  const record = (
    side: 'a' | 'b',
    size: number,
    c: Awaited<ReturnType<typeof waitA.completionOf>>,
  ) => {
    steps.push({ side, opcode: c.opcode, size, status: c.status, byteLen: c.byteLen });
    if (c.status !== 'success')
      throw new Error(`${side} ${c.opcode} of ${size} bytes: ${c.status}`);
  };

  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      // Ping: A SEND → B RECV.
      const ping = pingPongPattern(size, round, 0);
      const recvB = await b.postRecv({
        cq: right.cq,
        qp: right.qp,
        wrId: 1n,
        local: part(right, 0, size),
        lkey: right.region.lkey,
      });
      a.view(part(left, 0, size)).set(ping);
      const sendA = await a.postSend({
        cq: left.cq,
        qp: left.qp,
        wrId: 2n,
        opcode: 'send',
        local: part(left, 0, size),
        lkey: left.region.lkey,
      });
      record('a', size, await waitA.completionOf(left.cq, sendA.post));
      record('b', size, await waitB.completionOf(right.cq, recvB.post));
      check(b.view(part(right, 0, size)), ping, `ping of ${size} bytes`);

      // Pong: B SENDs what it received back into A's read-back area.
      const recvA = await a.postRecv({
        cq: left.cq,
        qp: left.qp,
        wrId: 3n,
        local: part(left, largest, size),
        lkey: left.region.lkey,
      });
      const sendB = await b.postSend({
        cq: right.cq,
        qp: right.qp,
        wrId: 4n,
        opcode: 'send',
        local: part(right, 0, size),
        lkey: right.region.lkey,
      });
      record('b', size, await waitB.completionOf(right.cq, sendB.post));
      record('a', size, await waitA.completionOf(left.cq, recvA.post));
      check(a.view(part(left, largest, size)), ping, `pong of ${size} bytes`);

      // RDMA WRITE into B's target area, then RDMA READ it back into A's read-back area.
      const written = pingPongPattern(size, round, 1);
      a.view(part(left, 0, size)).set(written);
      const remoteAddress = right.region.address + BigInt(largest);
      const write = await a.postSend({
        cq: left.cq,
        qp: left.qp,
        wrId: 5n,
        opcode: 'rdma-write',
        local: part(left, 0, size),
        lkey: left.region.lkey,
        remoteAddress,
        rkey: right.region.rkey,
      });
      record('a', size, await waitA.completionOf(left.cq, write.post));
      check(b.view(part(right, largest, size)), written, `RDMA WRITE of ${size} bytes`);
      a.view(part(left, largest, size)).fill(0);
      const read = await a.postSend({
        cq: left.cq,
        qp: left.qp,
        wrId: 6n,
        opcode: 'rdma-read',
        local: part(left, largest, size),
        lkey: left.region.lkey,
        remoteAddress,
        rkey: right.region.rkey,
      });
      record('a', size, await waitA.completionOf(left.cq, read.post));
      check(a.view(part(left, largest, size)), written, `RDMA READ of ${size} bytes`);
    }
  }

  for (const [session, end] of [
    [a, left],
    [b, right],
  ] as const) {
    await session.destroyQp({ qp: end.qp });
    await session.deregMr({ mr: end.region.mr });
    await session.destroyCq({ cq: end.cq });
    await session.deallocPd({ pd: end.pd });
  }
  return { steps, bytesVerified, digest: digest.digest('hex') };
}

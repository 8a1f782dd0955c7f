import { type BufferRef, type Handle, isVrdmaError } from '@vrdma/api-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompletionWaiter } from '../completion-waiter.js';
import { connectQp, createEndpoint, type Endpoint } from '../endpoint.js';
import type { VerbsEngine, VerbsSession } from '../engine.js';
import { pingPongPattern, runPingPong } from '../ping-pong.js';
import { MAX_POLL, type WcStatus, type WorkCompletion } from '../spec.js';

/** What an engine package provides to run the conformance suite against itself. */
export interface VerbsConformanceTarget {
  name: string;
  /** A fresh fabric of at least two devices on two nodes, and how to tear it down. */
  setup(): Promise<{ engines: VerbsEngine[]; teardown(): Promise<void> }>;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isVrdmaError(error), `expected a VrdmaError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

/**
 * A post the engine or the host refuses with `code`: natively the call throws it; remoted, the
 * call is posted, so the refusal comes back in a completion of the CQ it named ('refused').
 */
async function postRefused(
  waiter: CompletionWaiter,
  cq: Handle<'Cq'>,
  posted: Promise<{ post: number }>,
  code: string,
): Promise<void> {
  const outcome = await posted.then(
    (p) => p,
    (error: unknown) => error,
  );
  if (!(outcome && typeof outcome === 'object' && 'post' in outcome))
    return rejectsWith(Promise.reject(outcome), code);
  const completion = await waiter.completionOf(cq, (outcome as { post: number }).post);
  expect(completion).toMatchObject({ status: 'refused', error: code });
}

const part = (end: Endpoint, at: number, length: number): BufferRef => ({
  ...end.region.ref,
  offset: end.region.ref.offset + at,
  length,
});

/**
 * The behaviour every verbs engine owes its users, as a vitest suite: the ping-pong, the queue
 * pair state machine, and the work completion statuses verbs defines for each fault. An engine
 * package calls it from a test file; so does a remoting layer, to prove itself transparent.
 */
export function describeVerbsConformance(target: VerbsConformanceTarget): void {
  describe(`verbs conformance: ${target.name}`, () => {
    let engines: VerbsEngine[];
    let teardown: () => Promise<void>;
    const sessions: VerbsSession[] = [];

    const openOn = async (index: number): Promise<VerbsSession> => {
      const session = engines[index]!.openSession({ label: `verbs-${index}-${sessions.length}` });
      sessions.push(session);
      await session.open();
      return session;
    };

    /** Two connected endpoints on two nodes, their sessions and completion waiters. */
    const connectedPair = async (regionBytes = 4096) => {
      const a = await openOn(0);
      const b = await openOn(1);
      const left = await createEndpoint(a, { regionBytes });
      const right = await createEndpoint(b, { regionBytes });
      await connectQp(a, left.qp, right.self);
      await connectQp(b, right.qp, left.self);
      return { a, b, left, right, waitA: new CompletionWaiter(a), waitB: new CompletionWaiter(b) };
    };

    const statusOf = async (
      waiter: CompletionWaiter,
      cq: Handle<'Cq'>,
      posted: Promise<{ post: number }>,
    ): Promise<WorkCompletion> => waiter.completionOf(cq, (await posted).post);

    beforeEach(async () => {
      const made = await target.setup();
      expect(made.engines.length).toBeGreaterThanOrEqual(2);
      engines = made.engines;
      teardown = made.teardown;
    });

    afterEach(async () => {
      for (const session of sessions.splice(0)) await session.dispose();
      await teardown();
    });

    it('opens once, reports its node, the fabric and limits, and refuses calls before open', async () => {
      const fresh = engines[0]!.openSession();
      sessions.push(fresh);
      await rejectsWith(fresh.query(), 'NOT_OPEN');
      await rejectsWith(fresh.allocPd(), 'NOT_OPEN');
      const info = await fresh.open();
      expect(info.node).toBe(engines[0]!.node);
      expect(info.nodes).toEqual(expect.arrayContaining(engines.map((e) => e.node)));
      expect(info.limits.maxMessage).toBeGreaterThan(0);
      expect(await fresh.query()).toEqual(info);
      await rejectsWith(fresh.open(), 'ALREADY_OPEN');
    });

    it('runs the ping-pong: SEND/RECV and RDMA WRITE/READ between two nodes, byte for byte', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const sizes = [1, 7, 4096, 65_537];
      const result = await runPingPong(a, b, { sizes, rounds: 2 });
      // Per size and round, A: send, pong received, write, read; B: ping received, send.
      expect(result.a.steps).toHaveLength(sizes.length * 2 * 4);
      expect(result.b.steps).toHaveLength(sizes.length * 2 * 2);
      const steps = [...result.a.steps, ...result.b.steps];
      expect(steps.every((s) => s.status === 'success' && s.byteLen === s.size)).toBe(true);
      const total = sizes.reduce((x, y) => x + y, 0);
      expect(result.a.bytesVerified).toBe(2 * 2 * total);
      expect(result.b.bytesVerified).toBe(2 * 2 * total);
      const again = await runPingPong(a, b, { sizes, rounds: 2 });
      expect(again).toEqual(result);
    });

    it('moves queue pairs RESET → INIT → RTR → RTS and refuses any other move', async () => {
      const a = await openOn(0);
      const end = await createEndpoint(a, { regionBytes: 64 });
      expect((await a.queryQp({ qp: end.qp })).state).toBe('reset');
      await rejectsWith(a.modifyQp({ qp: end.qp, state: 'rtr', remote: end.self }), 'BAD_QP_STATE');
      await rejectsWith(a.modifyQp({ qp: end.qp, state: 'rts' }), 'BAD_QP_STATE');
      await a.modifyQp({ qp: end.qp, state: 'init' });
      await rejectsWith(a.modifyQp({ qp: end.qp, state: 'rtr' }), 'BAD_QP_STATE');
      await a.modifyQp({ qp: end.qp, state: 'rtr', remote: { node: 1, qpNum: 77 } });
      await a.modifyQp({ qp: end.qp, state: 'rts' });
      expect(await a.queryQp({ qp: end.qp })).toEqual({
        state: 'rts',
        qpNum: end.self.qpNum,
        remote: { node: 1, qpNum: 77 },
      });
      await a.modifyQp({ qp: end.qp, state: 'error' });
      await rejectsWith(a.modifyQp({ qp: end.qp, state: 'rts' }), 'BAD_QP_STATE');
      await a.modifyQp({ qp: end.qp, state: 'reset' });
      expect((await a.queryQp({ qp: end.qp })).state).toBe('reset');
    });

    it('ends a work request on a queue pair in the wrong state with local-qp-operation-error', async () => {
      const a = await openOn(0);
      const end = await createEndpoint(a, { regionBytes: 64 });
      const waiter = new CompletionWaiter(a);
      const local = part(end, 0, 64);
      const { lkey } = end.region;
      const recvInReset = await statusOf(
        waiter,
        end.cq,
        a.postRecv({ cq: end.cq, qp: end.qp, wrId: 9n, local, lkey }),
      );
      expect(recvInReset).toMatchObject({
        status: 'local-qp-operation-error',
        wrId: 9n,
        opcode: 'recv',
        byteLen: 0,
      });
      await a.modifyQp({ qp: end.qp, state: 'init' });
      const sendInInit = await statusOf(
        waiter,
        end.cq,
        a.postSend({ cq: end.cq, qp: end.qp, wrId: 10n, opcode: 'send', local, lkey }),
      );
      expect(sendInInit).toMatchObject({
        status: 'local-qp-operation-error',
        wrId: 10n,
        opcode: 'send',
      });
      expect(sendInInit.qpNum).toBe(end.self.qpNum);
    });

    it('ends an RDMA with a wrong rkey in remote-access-error, leaves the target untouched and flushes what follows', async () => {
      const { a, b, left, right, waitA } = await connectedPair();
      a.view(part(left, 0, 64)).fill(0xee);
      const local = part(left, 0, 64);
      const { lkey } = left.region;
      const wrong = (right.region.rkey ^ 0x5a5a5a) >>> 0;
      const bad = a.postSend({
        cq: left.cq,
        qp: left.qp,
        wrId: 1n,
        opcode: 'rdma-write',
        local,
        lkey,
        remoteAddress: right.region.address,
        rkey: wrong,
      });
      const next = a.postSend({
        cq: left.cq,
        qp: left.qp,
        wrId: 2n,
        opcode: 'rdma-write',
        local,
        lkey,
        remoteAddress: right.region.address,
        rkey: right.region.rkey,
      });
      const [first, second] = await waitA.completionsOf(left.cq, [
        (await bad).post,
        (await next).post,
      ]);
      expect(first).toMatchObject({
        status: 'remote-access-error',
        wrId: 1n,
        opcode: 'rdma-write',
        byteLen: 0,
      });
      expect(second).toMatchObject({ status: 'work-request-flushed', wrId: 2n });
      expect(b.view(part(right, 0, 64)).every((x) => x === 0)).toBe(true);
      expect((await a.queryQp({ qp: left.qp })).state).toBe('error');
    });

    it('honours remote access flags and region bounds', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      for (const [access, opcode] of [
        [{ localWrite: true, remoteRead: true }, 'rdma-write'],
        [{ localWrite: true, remoteWrite: true }, 'rdma-read'],
      ] as const) {
        const left = await createEndpoint(a, { regionBytes: 128 });
        const right = await createEndpoint(b, { regionBytes: 128, access });
        await connectQp(a, left.qp, right.self);
        await connectQp(b, right.qp, left.self);
        const c = await statusOf(
          new CompletionWaiter(a),
          left.cq,
          a.postSend({
            cq: left.cq,
            qp: left.qp,
            opcode,
            local: part(left, 0, 64),
            lkey: left.region.lkey,
            remoteAddress: right.region.address,
            rkey: right.region.rkey,
          }),
        );
        expect(c.status, `${opcode} without its remote access flag`).toBe('remote-access-error');
      }
      const { a: c1, left, right, waitA } = await connectedPair(128);
      const past = await statusOf(
        waitA,
        left.cq,
        c1.postSend({
          cq: left.cq,
          qp: left.qp,
          opcode: 'rdma-write',
          local: part(left, 0, 64),
          lkey: left.region.lkey,
          remoteAddress: right.region.address + 65n,
          rkey: right.region.rkey,
        }),
      );
      expect(past.status).toBe('remote-access-error');
    });

    it('ends RDMA to a deregistered region in remote-access-error, and a post from one in local-protection-error', async () => {
      const { a, b, left, right, waitA } = await connectedPair();
      const spare = await b.regMr({
        pd: right.pd,
        length: 256,
        access: { localWrite: true, remoteWrite: true },
      });
      await b.deregMr({ mr: spare.mr });
      const remote = await statusOf(
        waitA,
        left.cq,
        a.postSend({
          cq: left.cq,
          qp: left.qp,
          opcode: 'rdma-write',
          local: part(left, 0, 64),
          lkey: left.region.lkey,
          remoteAddress: spare.address,
          rkey: spare.rkey,
        }),
      );
      expect(remote.status).toBe('remote-access-error');

      const again = await connectedPair();
      const gone = await again.a.regMr({
        pd: again.left.pd,
        length: 256,
        access: { localWrite: true },
      });
      await again.a.deregMr({ mr: gone.mr });
      const local = await statusOf(
        again.waitA,
        again.left.cq,
        again.a.postSend({
          cq: again.left.cq,
          qp: again.left.qp,
          opcode: 'rdma-write',
          local: part(again.left, 0, 64),
          lkey: gone.lkey,
          remoteAddress: again.right.region.address,
          rkey: again.right.region.rkey,
        }),
      );
      expect(local.status).toBe('local-protection-error');
    });

    it('ends a send whose region was deregistered while it waited in local-protection-error', async () => {
      const { a, b, left, right, waitA } = await connectedPair();
      const spare = await a.regMr({ pd: left.pd, length: 256, access: { localWrite: true } });
      // The SEND waits for a receive; meanwhile its region goes, and a new one may take its place.
      const send = await a.postSend({
        cq: left.cq,
        qp: left.qp,
        opcode: 'send',
        local: { ...spare.ref, length: 64 },
        lkey: spare.lkey,
      });
      await a.deregMr({ mr: spare.mr });
      await a.regMr({ pd: left.pd, length: 256, access: { localWrite: true } });
      await b.postRecv({
        cq: right.cq,
        qp: right.qp,
        local: part(right, 0, 64),
        lkey: right.region.lkey,
      });
      expect((await waitA.completionOf(left.cq, send.post)).status).toBe('local-protection-error');
    });

    it('ends a post using a region of another protection domain in local-protection-error', async () => {
      const { a, b, left, right, waitA } = await connectedPair();
      const { pd: otherPd } = await a.allocPd();
      const foreign = await a.regMr({ pd: otherPd, length: 128, access: { localWrite: true } });
      const local = { ...foreign.ref, length: 64 };
      const send = await statusOf(
        waitA,
        left.cq,
        a.postSend({
          cq: left.cq,
          qp: left.qp,
          opcode: 'rdma-write',
          local,
          lkey: foreign.lkey,
          remoteAddress: right.region.address,
          rkey: right.region.rkey,
        }),
      );
      expect(send.status).toBe('local-protection-error');
      expect(b.view(part(right, 0, 64)).every((x) => x === 0)).toBe(true);
      // A buffer outside the lkey's region is refused alike, as is a receive into a read-only region.
      const fresh = await connectedPair();
      const outside = await statusOf(
        fresh.waitA,
        fresh.left.cq,
        fresh.a.postSend({
          cq: fresh.left.cq,
          qp: fresh.left.qp,
          opcode: 'send',
          local: { ...fresh.left.region.ref, length: 64 },
          lkey: (fresh.left.region.lkey + 1) >>> 0,
        }),
      );
      expect(outside.status).toBe('local-protection-error');
    });

    it('flushes posted receives and sends when a queue pair goes to ERROR', async () => {
      const { a, left, waitA } = await connectedPair();
      const posts = [];
      for (let i = 0; i < 3; i++)
        posts.push(
          (
            await a.postRecv({
              cq: left.cq,
              qp: left.qp,
              wrId: BigInt(i),
              local: part(left, i * 64, 64),
              lkey: left.region.lkey,
            })
          ).post,
        );
      await a.modifyQp({ qp: left.qp, state: 'error' });
      const flushed = await waitA.completionsOf(left.cq, posts);
      expect(flushed.map((c) => [c.wrId, c.status, c.opcode])).toEqual([
        [0n, 'work-request-flushed', 'recv'],
        [1n, 'work-request-flushed', 'recv'],
        [2n, 'work-request-flushed', 'recv'],
      ]);
      const after = await statusOf(
        waitA,
        left.cq,
        a.postSend({
          cq: left.cq,
          qp: left.qp,
          opcode: 'send',
          local: part(left, 0, 8),
          lkey: left.region.lkey,
        }),
      );
      expect(after.status).toBe('work-request-flushed');
    });

    it('waits for a receive posted after the send, and reports a message too long for it on both sides', async () => {
      const { a, b, left, right, waitA, waitB } = await connectedPair();
      const ping = pingPongPattern(100, 0, 3);
      a.view(part(left, 0, 100)).set(ping);
      const send = await a.postSend({
        cq: left.cq,
        qp: left.qp,
        wrId: 1n,
        opcode: 'send',
        local: part(left, 0, 100),
        lkey: left.region.lkey,
      });
      expect((await a.pollCq({ cq: left.cq })).completions).toEqual([]);
      const recv = await b.postRecv({
        cq: right.cq,
        qp: right.qp,
        wrId: 2n,
        local: part(right, 0, 200),
        lkey: right.region.lkey,
      });
      expect(await waitA.completionOf(left.cq, send.post)).toMatchObject({
        status: 'success',
        byteLen: 100,
      });
      expect(await waitB.completionOf(right.cq, recv.post)).toMatchObject({
        status: 'success',
        byteLen: 100,
        wrId: 2n,
        opcode: 'recv',
      });
      expect(Buffer.compare(b.view(part(right, 0, 100)), ping)).toBe(0);

      const short = await b.postRecv({
        cq: right.cq,
        qp: right.qp,
        local: part(right, 0, 10),
        lkey: right.region.lkey,
      });
      const long = await a.postSend({
        cq: left.cq,
        qp: left.qp,
        opcode: 'send',
        local: part(left, 0, 100),
        lkey: left.region.lkey,
      });
      expect((await waitA.completionOf(left.cq, long.post)).status).toBe(
        'remote-invalid-request-error',
      );
      expect((await waitB.completionOf(right.cq, short.post)).status).toBe('local-length-error');
    });

    it(`polls at most ${MAX_POLL} completions at a time, oldest first, and bounds a CQ by its cqe`, async () => {
      const { a, left } = await connectedPair();
      const { cq } = await a.createCq({ cqe: 12 });
      const { qp } = await a.createQp({ pd: left.pd, sendCq: cq, recvCq: cq });
      await a.modifyQp({ qp, state: 'init' });
      const waiter = new CompletionWaiter(a);
      const posts: number[] = [];
      for (let i = 0; i < 12; i++)
        posts.push(
          (
            await a.postRecv({
              cq,
              qp,
              wrId: BigInt(i),
              local: part(left, 0, 8),
              lkey: left.region.lkey,
            })
          ).post,
        );
      await rejectsWith(
        a.postRecv({ cq, qp, local: part(left, 0, 8), lkey: left.region.lkey }),
        'CQ_FULL',
      );
      await postRefused(
        waiter,
        left.cq,
        a.postSend({
          cq: left.cq,
          qp,
          opcode: 'send',
          local: part(left, 0, 8),
          lkey: left.region.lkey,
        }),
        'WRONG_CQ',
      );
      await a.destroyQp({ qp });
      const seen: WorkCompletion[] = [];
      for (let round = 0; round < 100 && seen.length < 12; round++) {
        const { completions } = await a.waitCq({ cq, timeoutMs: 100 });
        expect(completions.length).toBeLessThanOrEqual(MAX_POLL);
        seen.push(...completions);
      }
      expect(seen.map((c) => c.post)).toEqual(posts);
      expect(seen.every((c) => c.status === ('work-request-flushed' satisfies WcStatus))).toBe(
        true,
      );
      waiter.forget(cq);
      await a.destroyCq({ cq });
    });

    it('keeps sessions apart: another session’s handles are refused and its lkeys protect nothing', async () => {
      const { a, left, waitA } = await connectedPair();
      const other = await openOn(0);
      await rejectsWith(other.destroyQp({ qp: left.qp }), 'BAD_HANDLE');
      await rejectsWith(other.deregMr({ mr: left.region.mr }), 'BAD_HANDLE');
      await rejectsWith(other.pollCq({ cq: left.cq }), 'BAD_HANDLE');
      const mine = await createEndpoint(other, { regionBytes: 64 });
      await other.modifyQp({ qp: mine.qp, state: 'init' });
      // The other session names a's lkey over its own buffer: a's region is not its own.
      const c = await statusOf(
        new CompletionWaiter(other),
        mine.cq,
        other.postRecv({
          cq: mine.cq,
          qp: mine.qp,
          local: part(mine, 0, 8),
          lkey: left.region.lkey,
        }),
      );
      expect(c.status).toBe('local-protection-error');
      expect((await a.queryQp({ qp: left.qp })).state).toBe('rts');
      await waitA.completionsOf(left.cq, []);
    });

    it('lets a responder take requests from its own peer only, whoever knows its number', async () => {
      const { b, right, waitB } = await connectedPair();
      const intruder = await openOn(0);
      const end = await createEndpoint(intruder, { regionBytes: 64 });
      await connectQp(intruder, end.qp, right.self);
      const recv = await b.postRecv({
        cq: right.cq,
        qp: right.qp,
        local: part(right, 0, 64),
        lkey: right.region.lkey,
      });
      intruder.view(part(end, 0, 64)).fill(0x66);
      const sent = await statusOf(
        new CompletionWaiter(intruder),
        end.cq,
        intruder.postSend({
          cq: end.cq,
          qp: end.qp,
          opcode: 'send',
          local: part(end, 0, 64),
          lkey: end.region.lkey,
        }),
      );
      expect(sent.status).toBe('retry-exceeded');
      expect(b.view(part(right, 0, 64)).every((x) => x === 0)).toBe(true);
      expect((await b.pollCq({ cq: right.cq })).completions).toEqual([]);
      await b.modifyQp({ qp: right.qp, state: 'error' });
      expect((await waitB.completionOf(right.cq, recv.post)).status).toBe('work-request-flushed');
    });

    it('refuses to release what is in use, and releases everything on close', async () => {
      const { a, left } = await connectedPair();
      await rejectsWith(a.deallocPd({ pd: left.pd }), 'BUSY');
      await rejectsWith(a.destroyCq({ cq: left.cq }), 'BUSY');
      await a.close();
      await a.open();
      await rejectsWith(a.queryQp({ qp: left.qp }), 'BAD_HANDLE');
      await rejectsWith(a.deregMr({ mr: left.region.mr }), 'BAD_HANDLE');
    });
  });
}

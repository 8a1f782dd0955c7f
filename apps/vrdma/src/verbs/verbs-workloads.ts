import {
  CompletionWaiter,
  connectQp,
  createEndpoint,
  type Endpoint,
  type RemoteEnd,
  type VerbsSession,
} from '@vrdma/verbs-api';
import { meanCallCosts } from '../workloads/call-costs.js';

/** What a peer hands out of band to whoever writes into its region. */
export interface VerbsPeer extends RemoteEnd {
  /** The peer region's address, as a decimal string (JSON- and IPC-safe). */
  address: string;
  rkey: number;
  length: number;
}

/** The control calls the bench times, each in a create/destroy cycle. */
export const VERBS_CONTROL_CALLS = [
  'allocPd',
  'regMr',
  'deregMr',
  'createCq',
  'createQp',
  'modifyQp',
  'queryQp',
  'destroyQp',
] as const;
export type VerbsControlCall = (typeof VERBS_CONTROL_CALLS)[number];

/** How many writes a bandwidth point takes: `minBytes` worth, within `minOps`..`maxOps`. */
export interface WriteBudget {
  minBytes: number;
  minOps: number;
  maxOps: number;
}

/** RDMA WRITEs kept in flight on the queue pair (at most its send queue, at most the CQ). */
const IN_FLIGHT = 16;

/**
 * A writer's endpoint connected to `peer`: creates it, says where to connect back (the result's
 * `self`), and finishes once the peer connected too (`connect`).
 */
export async function writerEndpoint(
  session: VerbsSession,
  regionBytes: number,
): Promise<{ end: Endpoint; connect(peer: VerbsPeer): Promise<void> }> {
  const end = await createEndpoint(session, { regionBytes, cqe: 4 * IN_FLIGHT, maxWr: IN_FLIGHT });
  return { end, connect: (peer) => connectQp(session, end.qp, peer) };
}

/**
 * RDMA WRITE bandwidth at one size: writes of `size` bytes from the endpoint's region into the
 * peer's, `IN_FLIGHT` at a time, as many as the budget says.
 */
export async function rdmaWriteBandwidth(
  session: VerbsSession,
  end: Endpoint,
  peer: VerbsPeer,
  size: number,
  budget: WriteBudget,
): Promise<{ gbps: number; ops: number }> {
  const ops = Math.max(budget.minOps, Math.min(budget.maxOps, Math.ceil(budget.minBytes / size)));
  const waiter = new CompletionWaiter(session);
  const request = {
    cq: end.cq,
    qp: end.qp,
    opcode: 'rdma-write' as const,
    local: { ...end.region.ref, length: size },
    lkey: end.region.lkey,
    remoteAddress: BigInt(peer.address),
    rkey: peer.rkey,
  };
  let posted = 0;
  let done = 0;
  const started = process.hrtime.bigint();
  while (done < ops) {
    while (posted < ops && posted - done < IN_FLIGHT) {
      await session.postSend(request);
      posted++;
    }
    const { completions } = await session.waitCq({ cq: end.cq, timeoutMs: 5_000 });
    if (completions.length === 0) throw new Error('no RDMA WRITE completed within 5 s');
    for (const c of completions)
      if (c.status !== 'success') throw new Error(`an RDMA WRITE of ${size} B ended ${c.status}`);
    done += completions.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  waiter.forget(end.cq);
  return { gbps: (ops * size) / seconds / 1e9, ops };
}

/**
 * Mean µs of each control call over `rounds` create/destroy cycles of one queue pair's objects,
 * after a warm-up (see meanCallCosts).
 */
export async function verbsControlCosts(
  session: VerbsSession,
  rounds: number,
): Promise<Record<VerbsControlCall, number>> {
  const costs = await meanCallCosts(VERBS_CONTROL_CALLS, rounds, async (time) => {
    const { pd } = await time('allocPd', () => session.allocPd());
    const mr = await time('regMr', () =>
      session.regMr({ pd, length: 4096, access: { localWrite: true, remoteWrite: true } }),
    );
    const { cq } = await time('createCq', () => session.createCq({ cqe: 16 }));
    const { qp } = await time('createQp', () => session.createQp({ pd, sendCq: cq, recvCq: cq }));
    await time('modifyQp', () => session.modifyQp({ qp, state: 'init' }));
    await time('queryQp', () => session.queryQp({ qp }));
    await time('destroyQp', () => session.destroyQp({ qp }));
    await session.destroyCq({ cq });
    await time('deregMr', () => session.deregMr({ mr: mr.mr }));
    await session.deallocPd({ pd });
  });
  return costs.mean;
}

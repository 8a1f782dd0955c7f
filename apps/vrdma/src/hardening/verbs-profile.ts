import { type Handle, VrdmaError } from '@vrdma/api-spec';
import type { Connection } from '@vrdma/frontend';
import { MAX_POLL, type VerbsSpec, verbsSpec } from '@vrdma/verbs-api';
import type { ApiProfile } from './api-profile.js';

type Api = Connection<VerbsSpec>['api'];
type Ref = { region: number; offset: number; length: number };

/** A posted receive, and how it ended: a refusal comes back in the completion, as a throw here. */
async function receiveEnd(api: Api, cq: Handle<'Cq'>, qp: Handle<'Qp'>, local: Ref, lkey: number) {
  const { post } = await api.postRecv({ cq, qp, local: local as never, lkey });
  for (let tries = 0; tries < 4; tries++) {
    const { completions } = await api.waitCq({ cq, timeoutMs: 250 });
    const ended = completions.find((c) => (c as { post?: number }).post === post);
    if (ended?.status === 'refused') throw new VrdmaError(ended.error!, 'refused by the host');
    if (ended) return ended.status;
  }
  // A receive on a queue pair that is not connected waits for a message: it is queued, fine.
  return 'queued';
}

/**
 * The verbs API, as the fuzzer plays it: a protection domain, a registered region, a
 * completion queue and a queue pair of its own; other guests' handles of any API as victims.
 */
export const verbsProfile: ApiProfile<VerbsSpec> = {
  spec: verbsSpec,
  async prepare(connection) {
    const { api } = connection;
    await api.open({});
    const { pd } = await api.allocPd({});
    const mr = await api.regMr({
      pd,
      length: 4096,
      access: { localWrite: true, remoteWrite: true, remoteRead: true },
    });
    const { cq } = await api.createCq({ cqe: 64 });
    const { qp } = await api.createQp({ pd, sendCq: cq, recvCq: cq });
    return {
      pd,
      mr: mr.mr,
      ref: mr.ref,
      lkey: mr.lkey,
      rkey: mr.rkey,
      address: mr.address,
      cq,
      qp,
    };
  },
  sampleArgs(fn, own) {
    const post = { cq: own.cq, qp: own.qp, local: own.ref, lkey: own.lkey };
    const samples: Record<string, unknown> = {
      deallocPd: { pd: own.pd },
      regMr: { pd: own.pd, length: 4096 },
      deregMr: { mr: own.mr },
      createCq: { cqe: 16 },
      destroyCq: { cq: own.cq },
      createQp: { pd: own.pd, sendCq: own.cq, recvCq: own.cq },
      modifyQp: { qp: own.qp, state: 'init' },
      queryQp: { qp: own.qp },
      destroyQp: { qp: own.qp },
      postSend: {
        ...post,
        opcode: 'rdma-write',
        remoteAddress: own.address,
        rkey: own.rkey,
        wrId: 1n,
      },
      postRecv: { ...post, wrId: 2n },
      pollCq: { cq: own.cq, max: MAX_POLL },
      waitCq: { cq: own.cq, max: MAX_POLL, timeoutMs: 10 },
    };
    return samples[fn.name] ?? {};
  },
  ping: (connection) => connection.api.query({}),
  makers: ({ api }, own, size) => [
    () => api.regMr({ pd: own.pd as Handle<'Pd'>, length: size }),
    () => api.createCq({ cqe: (size % 1024) + 1 }),
    () => api.allocPd({}),
    () =>
      api.createQp({
        pd: own.pd as Handle<'Pd'>,
        sendCq: own.cq as Handle<'Cq'>,
        recvCq: own.cq as Handle<'Cq'>,
      }),
  ],
  callWithRef(connection, own, ref) {
    return receiveEnd(
      connection.api,
      own.cq as Handle<'Cq'>,
      own.qp as Handle<'Qp'>,
      ref,
      own.lkey as number,
    );
  },
  foreignAttempts(connection, own, foreign) {
    const { api } = connection;
    // Another guest's handles, whatever API it speaks, are numbers this guest may not name.
    const handles = [
      foreign.buffer,
      foreign.channel,
      foreign.pd,
      foreign.mr,
      foreign.cq,
      foreign.qp,
    ].filter((h): h is number => typeof h === 'number');
    const theirs = (i: number) => handles[i % handles.length] as never;
    return {
      deallocPd: () => api.deallocPd({ pd: theirs(0) }),
      deregMr: () => api.deregMr({ mr: theirs(0) }),
      destroyCq: () => api.destroyCq({ cq: theirs(1) }),
      destroyQp: () => api.destroyQp({ qp: theirs(1) }),
      pollCq: () => api.pollCq({ cq: theirs(1) }),
      queryQp: () => api.queryQp({ qp: theirs(1) }),
      regMrInTheirPd: () => api.regMr({ pd: theirs(0), length: 64 }),
      receiveIntoTheirMemory: () =>
        receiveEnd(
          api,
          own.cq as Handle<'Cq'>,
          own.qp as Handle<'Qp'>,
          foreign.ref as Ref,
          own.lkey as number,
        ),
    };
  },
};

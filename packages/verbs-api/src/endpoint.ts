import type { Handle } from '@vrdma/api-spec';
import type { VerbsApi } from './engine.js';
import type { AccessFlags, RemoteEnd } from './spec.js';

type Api = VerbsApi;

/** The objects one side of a connection needs: a PD, one CQ, an RC queue pair, one region. */
export interface Endpoint {
  pd: Handle<'Pd'>;
  cq: Handle<'Cq'>;
  qp: Handle<'Qp'>;
  /** What the peer needs to connect to this queue pair (exchanged out of band). */
  self: RemoteEnd;
  region: Awaited<ReturnType<VerbsApi['regMr']>>;
}

export interface EndpointOptions {
  /** Bytes of the endpoint's memory region. */
  regionBytes: number;
  access?: AccessFlags;
  cqe?: number;
  maxWr?: number;
}

/**
 * Creates an endpoint on an open device: protection domain, a CQ shared by sends and receives,
 * a queue pair in RESET and a region with local write and remote read and write by default.
 */
export async function createEndpoint(api: Api, options: EndpointOptions): Promise<Endpoint> {
  const { node } = await api.query();
  const { pd } = await api.allocPd();
  const { cq } = await api.createCq({ cqe: options.cqe ?? 64 });
  const maxWr = options.maxWr ?? 16;
  const { qp, qpNum } = await api.createQp({
    pd,
    sendCq: cq,
    recvCq: cq,
    maxSendWr: maxWr,
    maxRecvWr: maxWr,
  });
  const region = await api.regMr({
    pd,
    length: options.regionBytes,
    access: options.access ?? { localWrite: true, remoteWrite: true, remoteRead: true },
  });
  return { pd, cq, qp, self: { node, qpNum }, region };
}

/** Moves a queue pair RESET → INIT → RTR (connected to `remote`) → RTS, as `rdma_connect` would. */
export async function connectQp(api: Api, qp: Handle<'Qp'>, remote: RemoteEnd): Promise<void> {
  await api.modifyQp({ qp, state: 'init' });
  await api.modifyQp({ qp, state: 'rtr', remote });
  await api.modifyQp({ qp, state: 'rts' });
}

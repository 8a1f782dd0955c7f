import { cpus } from 'node:os';
import { createHost, service } from '@vrdma/backend';
import { createLocalVerbsFabric } from '@vrdma/engine-verbs';
import { unimemSpec } from '@vrdma/unimem-api';
import {
  connectQp,
  createEndpoint,
  type Endpoint,
  type RemoteEnd,
  type VerbsSession,
  verbsSpec,
} from '@vrdma/verbs-api';
import { type AttachSocket, openAttachSocket } from '../compose/attach-socket.js';
import type { GuestKind } from '../compose/deployment.js';
import type { TransportCounters } from '../workloads/requests.js';
import { startVerbsProcessGuest, startVerbsThreadGuest, type VerbsGuest } from './verbs-guests.js';
import {
  rdmaWriteBandwidth,
  VERBS_CONTROL_CALLS,
  type VerbsControlCall,
  type VerbsPeer,
  verbsControlCosts,
  writerEndpoint,
} from './verbs-workloads.js';

export interface VerbsBenchOptions {
  quick: boolean;
  guests: GuestKind;
  progress?: (label: string, total: number) => void;
}

/** What `vrdma bench --api verbs` measures; `--json` prints exactly this object. */
export interface VerbsBenchResult {
  machine: { cpus: number; node: string; engine: string; transports: string; guests: string };
  /** RDMA WRITE bandwidth by size, 16 in flight; `ratio` is remoted / native. */
  bandwidth: Array<{ size: number; nativeGBps: number; remotedGBps: number; ratio: number }>;
  control: Array<{ fn: VerbsControlCall; nativeUs: number; remotedUs: number; ratio: number }>;
  kicks: { perDataOp: number; perControlCall: number };
}

const FULL_SIZES = [64, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
const QUICK_SIZES = [64, 4 << 10, 64 << 10, 1 << 20];

/**
 * The paper's comparison for verbs, native and remoted in one run on one host that serves
 * Unimem and verbs: RDMA WRITE bandwidth by size from node 0 into a peer's region on node 1,
 * the cost of each control call, and kicks per data-plane op and per control call.
 */
export async function runVerbsBench(options: VerbsBenchOptions): Promise<VerbsBenchResult> {
  const sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  // Small writes are bounded by a count, not by bytes: a quick run stays quick.
  const budget = options.quick
    ? { minBytes: 16 << 20, minOps: 200, maxOps: 5_000 }
    : { minBytes: 128 << 20, minOps: 2_000, maxOps: 50_000 };
  const rounds = options.quick ? 50 : 300;
  const maxSize = sizes[sizes.length - 1]!;
  const steps = 1 + sizes.length * 2 + 2;
  const step = (label: string) => options.progress?.(label, steps);

  step('starting the fabric, the host and a guest');
  const fabric = createLocalVerbsFabric({
    nodes: [0, 1],
    engine: { sessionMemory: 2 * maxSize + (16 << 20) },
  });
  const device = fabric.device(0);
  const host = createHost({
    services: [service(unimemSpec, device.unimem), service(verbsSpec, device)],
    config: { quotas: { bytes: 1 << 30 } },
  });
  let socket: AttachSocket | undefined;
  let guest: VerbsGuest | undefined;
  const sessions: VerbsSession[] = [];
  const open = async (node: number, label: string) => {
    const session = fabric.device(node).openSession({ label });
    sessions.push(session);
    await session.open();
    return session;
  };
  try {
    const peerSession = await open(1, 'peer');
    const peer = await createEndpoint(peerSession, {
      regionBytes: maxSize,
      access: { localWrite: true, remoteWrite: true },
    });
    const native = await open(0, 'native');
    const nativeWriter = await writerEndpoint(native, maxSize);
    const nativePeer = await acceptWriter(peerSession, peer, nativeWriter.end.self);
    await nativeWriter.connect(nativePeer);

    const memoryBytes = maxSize + (8 << 20);
    if (options.guests === 'process') {
      socket = await openAttachSocket(host);
      guest = await startVerbsProcessGuest(socket, { label: 'bench-verbs', memoryBytes });
    } else guest = await startVerbsThreadGuest(host, { label: 'bench-verbs', memoryBytes });
    const remote = guest;
    const guestSelf = (await ask(remote, {
      kind: 'bench-endpoint',
      regionBytes: maxSize,
    })) as RemoteEnd;
    await ask(remote, {
      kind: 'bench-connect',
      peer: await acceptWriter(peerSession, peer, guestSelf),
    });
    const counters = async () =>
      (await ask(remote, { kind: 'transport-counters' })) as TransportCounters;

    const bandwidth: VerbsBenchResult['bandwidth'] = [];
    const before = await counters();
    for (const size of sizes) {
      step(`native RDMA WRITE ${size} B`);
      const n = await rdmaWriteBandwidth(native, nativeWriter.end, nativePeer, size, budget);
      step(`remoted RDMA WRITE ${size} B`);
      const r = (await ask(remote, { kind: 'bench-bandwidth', size, budget })) as { gbps: number };
      bandwidth.push({ size, nativeGBps: n.gbps, remotedGBps: r.gbps, ratio: r.gbps / n.gbps });
    }
    const after = await counters();

    step('native control calls');
    const nativeControl = await verbsControlCosts(native, rounds);
    step('remoted control calls');
    const beforeControl = await counters();
    const remotedControl = (await ask(remote, { kind: 'bench-control', rounds })) as Record<
      VerbsControlCall,
      number
    >;
    const afterControl = await counters();
    return {
      machine: {
        cpus: cpus().length,
        node: process.versions.node,
        engine: 'engine-verbs over engine-unimem, 2 nodes in one process',
        transports: 'control: virtio split virtqueue; data: transport-shm polled ring',
        guests: options.guests === 'thread' ? 'worker threads' : 'OS processes',
      },
      bandwidth,
      control: VERBS_CONTROL_CALLS.map((fn) => ({
        fn,
        nativeUs: nativeControl[fn],
        remotedUs: remotedControl[fn],
        ratio: remotedControl[fn] / nativeControl[fn],
      })),
      kicks: {
        perDataOp: perMessage(before.data, after.data),
        perControlCall: perMessage(beforeControl.control, afterControl.control),
      },
    };
  } finally {
    await guest?.stop();
    await host.close();
    await socket?.close();
    for (const session of sessions) await session.dispose();
    await fabric.shutdown();
  }
}

/** A queue pair of the peer for one writer, connected to it: what the writer needs to write. */
async function acceptWriter(
  session: VerbsSession,
  peer: Endpoint,
  writer: RemoteEnd,
): Promise<VerbsPeer> {
  const { qp, qpNum } = await session.createQp({ pd: peer.pd, sendCq: peer.cq, recvCq: peer.cq });
  await connectQp(session, qp, writer);
  return {
    node: peer.self.node,
    qpNum,
    address: peer.region.address.toString(),
    rkey: peer.region.rkey,
    length: peer.region.length,
  };
}

async function ask(
  guest: VerbsGuest,
  command: Parameters<VerbsGuest['send']>[0],
): Promise<unknown> {
  guest.send(command);
  const report = await guest.next();
  if (report.kind !== 'result')
    throw new Error(`guest ${guest.label}: ${'message' in report ? report.message : report.kind}`);
  return report.result;
}

function perMessage(
  before: { messages: number; doorbells: number },
  after: { messages: number; doorbells: number },
): number {
  const messages = after.messages - before.messages;
  return messages > 0 ? (after.doorbells - before.doorbells) / messages : 0;
}

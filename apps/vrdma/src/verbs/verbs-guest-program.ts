import {
  connectQp,
  createEndpoint,
  Mailbox,
  type PingPongOptions,
  runPingPongSide,
  type VerbsSession,
} from '@vrdma/verbs-api';
import type { TransportCounters } from '../workloads/requests.js';
import {
  rdmaWriteBandwidth,
  type VerbsPeer,
  verbsControlCosts,
  type WriteBudget,
  writerEndpoint,
} from './verbs-workloads.js';

/** What the composition root asks of a verbs guest. */
export type VerbsGuestCommand =
  | { kind: 'ping-pong'; role: 'a' | 'b'; options: PingPongOptions }
  /** An out-of-band message from the other side of a ping-pong, relayed. */
  | { kind: 'oob'; message: Record<string, unknown> }
  /** Sets up two connected queue pairs with a receive posted and a SEND waiting for a receive. */
  | { kind: 'hold-in-flight' }
  /** Bench: an endpoint to write from; answers where the peer connects back. */
  | { kind: 'bench-endpoint'; regionBytes: number }
  /** Bench: connects the endpoint to the peer. */
  | { kind: 'bench-connect'; peer: VerbsPeer }
  | { kind: 'bench-bandwidth'; size: number; budget: WriteBudget }
  | { kind: 'bench-control'; rounds: number }
  | { kind: 'transport-counters' };

/** What a verbs guest tells the composition root. */
export type VerbsGuestReport =
  | { kind: 'ready' }
  | { kind: 'oob'; message: Record<string, unknown> }
  | { kind: 'result'; result: unknown }
  | { kind: 'failed'; message: string };

export interface GuestPort {
  send(report: VerbsGuestReport): void;
  onMessage(listener: (command: VerbsGuestCommand) => void): void;
}

/**
 * The verbs application of a guest, thread or process alike: it says it is ready, then runs
 * the commands it gets, on its remoted device, and reports. Out-of-band messages of the
 * ping-pong go through the composition root, as an application's socket would carry them.
 */
export function serveVerbsGuest(
  device: VerbsSession,
  port: GuestPort,
  counters: () => TransportCounters,
): void {
  const inbox = new Mailbox();
  let writer: Awaited<ReturnType<typeof writerEndpoint>> | undefined;
  let peer: VerbsPeer | undefined;
  const bench = async (command: VerbsGuestCommand): Promise<unknown> => {
    switch (command.kind) {
      case 'bench-endpoint':
        writer = await writerEndpoint(device, command.regionBytes);
        return writer.end.self;
      case 'bench-connect':
        peer = command.peer;
        await writer!.connect(peer);
        return 'connected';
      case 'bench-bandwidth':
        return rdmaWriteBandwidth(device, writer!.end, peer!, command.size, command.budget);
      case 'bench-control':
        return verbsControlCosts(device, command.rounds);
      default:
        return counters();
    }
  };
  const report = (work: Promise<unknown>) =>
    work.then(
      (result) => port.send({ kind: 'result', result }),
      (error: unknown) =>
        port.send({
          kind: 'failed',
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  port.onMessage((command) => {
    if (command.kind === 'oob') inbox.put(command.message);
    else if (command.kind === 'ping-pong')
      void report(
        runPingPongSide(
          device,
          command.role,
          { send: (message) => port.send({ kind: 'oob', message }), receive: () => inbox.take() },
          command.options,
        ),
      );
    else if (command.kind === 'hold-in-flight') void report(holdInFlight(device));
    else void report(bench(command));
  });
  port.send({ kind: 'ready' });
}

/** Two queue pairs of this guest connected to each other, with work the peer never completes. */
async function holdInFlight(device: VerbsSession): Promise<unknown> {
  const one = await createEndpoint(device, { regionBytes: 4096 });
  const two = await createEndpoint(device, { regionBytes: 4096 });
  await connectQp(device, one.qp, two.self);
  await connectQp(device, two.qp, one.self);
  const local = { ...one.region.ref, length: 1024 };
  // No receive on `two`: the SEND waits for one, as an RC requester retries receiver-not-ready.
  await device.postSend({ cq: one.cq, qp: one.qp, opcode: 'send', local, lkey: one.region.lkey });
  await device.postRecv({ cq: one.cq, qp: one.qp, local, lkey: one.region.lkey });
  const { completions } = await device.pollCq({ cq: one.cq });
  return {
    polled: completions.length,
    state: (await device.queryQp({ qp: one.qp })).state,
    qpNums: [one.self.qpNum, two.self.qpNum],
  };
}

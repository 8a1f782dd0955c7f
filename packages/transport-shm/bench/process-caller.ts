import { regionsFromParent } from '../src/test-fixtures/regions-from-parent.js';
import { guestEndpointOnSocket } from '../src/test-fixtures/socket-endpoints.js';
import type { DoorbellLog } from './checkpoints.js';
import { type Caller, measure } from './measure.js';

/**
 * The calling side in a child process: the same call over the ring and over Node's IPC. The
 * channel arrives as a descriptor on the socket the host shares with us (no path).
 */
const { regions, socket } = regionsFromParent();
const transport = guestEndpointOnSocket(
  regions[0]!.bytes.buffer,
  socket,
  JSON.parse(process.argv[2] ?? '{}'),
);

const waiting = new Map<number, (reply: Uint8Array) => void>();
const acks = new Map<string, (interrupts: number) => void>();
process.on(
  'message',
  (message: { reply?: Uint8Array; checkpointAck?: string; interrupts?: number }) => {
    if (message.checkpointAck) acks.get(message.checkpointAck)?.(message.interrupts!);
    if (!message.reply) return;
    const reply = message.reply;
    const callId = new DataView(reply.buffer, reply.byteOffset, 8).getUint32(4, true);
    waiting.get(callId)?.(reply);
    waiting.delete(callId);
  },
);
const viaIpc: Caller = (request) =>
  new Promise((resolve) => {
    waiting.set(new DataView(request.buffer).getUint32(4, true), resolve);
    process.send!({ request });
  });

const log: DoorbellLog = { kicks: {}, interrupts: {} };
const checkpoint = (phase: string) =>
  new Promise<void>((resolve) => {
    log.kicks[phase] = transport.metrics.doorbells;
    acks.set(phase, (interrupts) => {
      log.interrupts[phase] = interrupts;
      resolve();
    });
    process.send!({ checkpoint: phase });
  });

const ring = await measure((request) => transport.call(request), undefined, checkpoint);
const ipc = await measure(viaIpc);
process.send!({ results: { ring, ipc, log } });
await transport.close();
process.disconnect();

import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
// Comlink ships no "exports" map; its ES module build is imported by path.
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { PollOptions } from '../src/poller.js';
import { connectToThreadHost } from '../src/thread-guest.js';
import type { DoorbellLog } from './checkpoints.js';
import { type Caller, measure } from './measure.js';

/** The calling side in a worker thread: the same call over the ring, postMessage and Comlink. */
const { postPort, comlinkPort, poll } = workerData as {
  postPort: MessagePort;
  comlinkPort: MessagePort;
  poll: PollOptions;
};
const host = await connectToThreadHost({ poll });

const waiting = new Map<number, (reply: Uint8Array) => void>();
postPort.on('message', (reply: Uint8Array) => {
  const callId = new DataView(reply.buffer, reply.byteOffset, 8).getUint32(4, true);
  waiting.get(callId)?.(reply);
  waiting.delete(callId);
});
const viaPostMessage: Caller = (request) =>
  new Promise((resolve) => {
    waiting.set(new DataView(request.buffer).getUint32(4, true), resolve);
    postPort.postMessage(request);
  });

const remote = Comlink.wrap(nodeEndpoint(comlinkPort)) as unknown as {
  call(request: Uint8Array): Promise<Uint8Array>;
};
const viaComlink: Caller = (request) => remote.call(request);

// At each phase boundary the host notes its interrupts (host → guest doorbells) and we our kicks.
const log: DoorbellLog = { kicks: {}, interrupts: {} };
const checkpoint = (phase: string) =>
  new Promise<void>((resolve) => {
    log.kicks[phase] = host.transport.metrics.doorbells;
    const onAck = (m: { checkpointAck?: string; interrupts?: number }) => {
      if (m.checkpointAck !== phase) return;
      log.interrupts[phase] = m.interrupts!;
      parentPort!.off('message', onAck);
      resolve();
    };
    parentPort!.on('message', onAck);
    parentPort!.postMessage({ checkpoint: phase });
  });

const ring = await measure((request) => host.transport.call(request), undefined, checkpoint);
const postMessage = await measure(viaPostMessage);
const comlink = await measure(viaComlink);
parentPort!.postMessage({ results: { ring, postMessage, comlink, log } });
await host.transport.close();
postPort.close();
comlinkPort.close();

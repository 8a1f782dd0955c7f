/**
 * A verbs guest in a worker thread the host attached with `attachWorker`: connects the verbs
 * API over the memory, virtqueue and ring the host posts, opens the device and serves the
 * composition root's commands (see verbs-guest-program.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectInWorker } from '@vrdma/frontend';
import { verbsSession, verbsSpec } from '@vrdma/verbs-api';
import { transportCounters } from '../compose/transport-counters.js';
import { serveVerbsGuest, type VerbsGuestCommand } from './verbs-guest-program.js';

const { label } = workerData as { label: string };
const port = parentPort!;
const device = verbsSession(await connectInWorker({ spec: verbsSpec, label }));
await device.open();
device.connection.onDisconnect(() => process.exit(0));
serveVerbsGuest(
  device,
  {
    send: (report) => port.postMessage(report),
    onMessage: (listener) => port.on('message', (m: VerbsGuestCommand) => listener(m)),
  },
  () => transportCounters(device.connection),
);

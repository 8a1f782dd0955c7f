/**
 * A guest in a worker thread the host attached with `attachWorker`: connects the Unimem API
 * over the memory, virtqueue and ring the host posts, opens the device, then runs the
 * workloads the deployment asks for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectInWorker } from '@vrdma/frontend';
import { unimemSession, unimemSpec } from '@vrdma/unimem-api';
import { serveWorkloads } from './serve-workloads.js';
import { transportCounters } from './transport-counters.js';

const { label } = workerData as { label: string };
const port = parentPort!;

const device = unimemSession(await connectInWorker({ spec: unimemSpec, label }));
await device.open();
device.connection.onDisconnect(() => process.exit(0));
serveWorkloads(
  device,
  {
    send: (message) => port.postMessage(message),
    onMessage: (listener) => port.on('message', listener),
  },
  () => transportCounters(device.connection),
);

/**
 * A guest in a worker thread: attaches the control plane (virtio) and the data plane (shm
 * ring) the host offers, connects the frontend over them in the region the host shares, opens
 * the device, then runs the workloads the host asks for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from '@vrdma/frontend';
import { connectToThreadHost } from '@vrdma/transport-shm';
import { connectToVirtioThreadHost } from '@vrdma/transport-virtio';
import { unimemSession, unimemSpec } from '@vrdma/unimem-api';
import { runWorkload } from '../workloads/requests.js';
import { isWorkloadMessage } from './guest-rpc.js';

const { memory, label } = workerData as {
  memory: { id: number; buffer: SharedArrayBuffer };
  label: string;
};
const port = parentPort!;

const [data, control] = await Promise.all([connectToThreadHost(), connectToVirtioThreadHost()]);
const region = {
  id: memory.id,
  size: memory.buffer.byteLength,
  bytes: new Uint8Array(memory.buffer),
};
const device = unimemSession(
  await connect({ spec: unimemSpec, control, data: data.transport, memory: region, label }),
);
await device.open();

const counters = () => ({
  control: { messages: control.metrics.messages, doorbells: control.metrics.doorbells },
  data: { messages: data.transport.metrics.messages, doorbells: data.transport.metrics.doorbells },
});

port.on('message', (message: unknown) => {
  if (!isWorkloadMessage(message) || !message.request) return;
  runWorkload(device, message.request, counters).then(
    (result) => port.postMessage({ vrdmaWorkload: message.vrdmaWorkload, result }),
    (error: unknown) =>
      port.postMessage({ vrdmaWorkload: message.vrdmaWorkload, error: String(error) }),
  );
});
device.connection.onDisconnect(() => process.exit(0));
port.postMessage({
  vrdmaWorkload: 0,
  result: { kind: 'transport-counters', counters: counters() },
});

import { parentPort, workerData } from 'node:worker_threads';
import type { Region } from '@vrdma/api-spec';
import { createVirtioClientTransport } from './client-transport.js';
import { callInfo, echoRequest } from './echo-fixture.js';
import { threadShmDoorbell } from './shm-doorbell.js';

/**
 * A guest in a worker thread, as a host attaches one (transport-shm doorbells, default poll
 * window and contention guard): a burst of echo calls (`bursts` of `burst` in flight at once,
 * then `singles` one at a time), then idle. Each message from the host is answered with the
 * driver's poll state and counters: 'state' at once, 'call' after making one more call.
 */
const { buffer, bursts, burst, singles } = workerData as {
  buffer: SharedArrayBuffer;
  bursts: number;
  burst: number;
  singles: number;
};
const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const bell = threadShmDoorbell(region, 'driver');
const client = createVirtioClientTransport({ region, kicks: bell, interrupts: bell });

let calls = 0;
const call = () => {
  calls++;
  return client.call(echoRequest(calls, Uint8Array.of(1)), callInfo(calls));
};
for (let round = 0; round < bursts; round++) {
  await Promise.all(Array.from({ length: burst }, call));
}
for (let i = 0; i < singles; i++) await call();

const state = () => ({ calls, poll: { ...client.poll }, metrics: { ...client.metrics } });
parentPort!.on('message', async (ask: 'state' | 'call') => {
  if (ask === 'call') await call();
  parentPort!.postMessage(state());
});
parentPort!.postMessage(state());

import { parentPort, workerData } from 'node:worker_threads';
import type { Region } from '@vrdma/api-spec';
import { createVirtioClientTransport } from './client-transport.js';
import { callInfo, echoRequest } from './echo-fixture.js';
import { threadShmDoorbell } from './shm-doorbell.js';

/**
 * A guest in a worker thread hammering the control plane: keeps its whole queue in flight
 * (bursts of `burst` echo calls, back to back) until the word `stop` is set, then reports how
 * many calls it made.
 */
const { buffer, stop, burst } = workerData as {
  buffer: SharedArrayBuffer;
  stop: SharedArrayBuffer;
  burst: number;
};
const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const bell = threadShmDoorbell(region, 'driver');
const client = createVirtioClientTransport({ region, kicks: bell, interrupts: bell });
const stopped = new Int32Array(stop);
let calls = 0;
while (Atomics.load(stopped, 0) === 0) {
  await Promise.all(
    Array.from({ length: burst }, () => {
      calls++;
      return client.call(echoRequest(calls, Uint8Array.of(1)), callInfo(calls));
    }),
  );
}
parentPort!.postMessage({ calls });
await client.close();

import { parentPort, workerData } from 'node:worker_threads';
import type { Region } from '@vrdma/api-spec';
import { createVirtioClientTransport } from './client-transport.js';
import { callInfo, echoRequest, threadDoorbells } from './echo-fixture.js';
import { threadShmDoorbell } from './shm-doorbell.js';

/**
 * A guest in a worker thread: attaches to the device in the region it was given and sends
 * `calls` echo calls, `burst` at a time; reports the replies' call ids and its counters.
 */
const { buffer, calls, burst, doorbell } = workerData as {
  buffer: SharedArrayBuffer;
  calls: number;
  burst: number;
  doorbell?: 'atomics' | 'shm';
};
const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const bells = threadDoorbells(region);
const shmBell = doorbell === 'shm' ? threadShmDoorbell(region, 'driver') : undefined;
const client = createVirtioClientTransport({
  region,
  kicks: shmBell ?? bells.kick,
  interrupts: shmBell ?? bells.interrupt,
});
const ids: number[] = [];
let mismatches = 0;
for (let first = 1; first <= calls; first += burst) {
  const batch = Array.from({ length: Math.min(burst, calls - first + 1) }, (_, i) => first + i);
  const replies = await Promise.all(
    batch.map((id) => client.call(echoRequest(id, Uint8Array.of(id & 0xff, 1, 2)), callInfo(id))),
  );
  replies.forEach((reply, i) => {
    const id = new DataView(reply.buffer).getUint32(4, true);
    ids.push(id);
    if (id !== batch[i] || reply[14] !== (id & 0xff)) mismatches++;
  });
}
parentPort!.postMessage({ ids, mismatches, metrics: { ...client.metrics } });
await client.close();

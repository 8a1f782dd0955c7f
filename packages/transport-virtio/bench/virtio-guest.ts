import { parentPort, workerData } from 'node:worker_threads';
import type { Region } from '@vrdma/api-spec';
import { createVirtioClientTransport } from '../src/client-transport.js';
import { threadDoorbells } from '../src/echo-fixture.js';
import { threadShmDoorbell } from '../src/shm-doorbell.js';
import { timeQueries } from './timed-calls.js';

/** A guest thread timing `query` control calls over the virtqueue. */
const { buffer, features, burst, calls, doorbell, pollBudgetUs } = workerData as {
  buffer: SharedArrayBuffer;
  features: bigint;
  burst: number;
  calls: number;
  doorbell: 'atomics' | 'shm';
  pollBudgetUs?: number;
};
const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const bells = threadDoorbells(region);
const shmBell = doorbell === 'shm' ? threadShmDoorbell(region, 'driver') : undefined;
const client = createVirtioClientTransport({
  region,
  kicks: shmBell ?? bells.kick,
  interrupts: shmBell ?? bells.interrupt,
  features,
  ...(pollBudgetUs === undefined ? {} : { pollBudgetUs }),
});
parentPort!.postMessage(await timeQueries(client, calls, burst));
await client.close();

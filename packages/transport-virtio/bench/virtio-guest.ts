import { parentPort, workerData } from 'node:worker_threads';
import { createStub, type Region, unimemSpec } from '@vrdma/api-spec';
import { createVirtioClientTransport } from '../src/client-transport.js';
import { threadDoorbells } from '../src/echo-fixture.js';
import { threadShmDoorbell } from '../src/shm-doorbell.js';

/** A guest thread timing `query` control calls over the virtqueue, one at a time or in bursts. */
const { buffer, features, burst, calls, doorbell } = workerData as {
  buffer: SharedArrayBuffer;
  features: bigint;
  burst: number;
  calls: number;
  doorbell: 'atomics' | 'shm';
};
const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const bells = threadDoorbells(region);
const shmBell = doorbell === 'shm' ? threadShmDoorbell(region, 'driver') : undefined;
const client = createVirtioClientTransport({
  region,
  kicks: shmBell ?? bells.kick,
  interrupts: shmBell ?? bells.interrupt,
  features,
});
const api = createStub(unimemSpec, client);

async function run(count: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let done = 0; done < count; done += burst) {
    await Promise.all(Array.from({ length: burst }, () => api.query()));
  }
  return Number(process.hrtime.bigint() - start) / count;
}

await run(Math.min(calls, 500)); // warm-up: JIT, ring laps
const before = { ...client.metrics };
const nsPerCall = await run(calls);
parentPort!.postMessage({
  nsPerCall,
  kicks: client.metrics.doorbells - before.doorbells,
  messages: client.metrics.messages - before.messages,
});
await client.close();

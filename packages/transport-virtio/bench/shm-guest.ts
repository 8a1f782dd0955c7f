import { parentPort, workerData } from 'node:worker_threads';
import { createStub, unimemSpec } from '@vrdma/api-spec';
import { connectToThreadHost } from '@vrdma/transport-shm';

/** A guest thread timing `query` over transport-shm's polled ring, for comparison. */
const { burst, calls } = workerData as { burst: number; calls: number };
const { transport } = await connectToThreadHost();
const api = createStub(unimemSpec, transport);

async function run(count: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let done = 0; done < count; done += burst) {
    await Promise.all(Array.from({ length: burst }, () => api.query()));
  }
  return Number(process.hrtime.bigint() - start) / count;
}

await run(Math.min(calls, 500));
const before = { ...transport.metrics };
const nsPerCall = await run(calls);
parentPort!.postMessage({
  nsPerCall,
  kicks: transport.metrics.doorbells - before.doorbells,
  messages: transport.metrics.messages - before.messages,
});

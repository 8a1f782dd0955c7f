import { parentPort, workerData } from 'node:worker_threads';
import { connectToThreadHost } from '@vrdma/transport-shm';
import { timeQueries } from './timed-calls.js';

/** A guest thread timing `query` over transport-shm's polled ring, for comparison. */
const { burst, calls } = workerData as { burst: number; calls: number };
const { transport } = await connectToThreadHost();
parentPort!.postMessage(await timeQueries(transport, calls, burst));

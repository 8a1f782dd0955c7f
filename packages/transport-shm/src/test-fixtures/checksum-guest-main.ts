import { parentPort } from 'node:worker_threads';
import { connectToThreadHost } from '../thread-guest.js';
import { CHECKSUM_REGION_BYTES, checksumCalls } from './checksum-calls.js';

/** The checksum guest in a worker thread: it creates its region and registers it. */
const host = await connectToThreadHost();
const region = await host.createRegion(3, CHECKSUM_REGION_BYTES);
parentPort!.postMessage(await checksumCalls(host.transport, region));
await host.transport.close();

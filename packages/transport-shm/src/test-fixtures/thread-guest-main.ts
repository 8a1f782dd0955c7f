import { parentPort, workerData } from 'node:worker_threads';
import { connectToThreadHost } from '../thread-guest.js';
import { type GuestCommand, runCommand } from './guest-driver.js';

/** A guest thread driven by the test through messages beside the rings. */
const host = await connectToThreadHost({ poll: workerData?.poll });
const region = await host.createRegion(7, 1 << 16);
const callIds = { next: 1 };
parentPort!.on('message', async (message: GuestCommand | { vrdmaShm: string }) => {
  if (!('cmd' in message)) return;
  const report = await runCommand(host, region, message, callIds, (r) =>
    parentPort!.postMessage({ progress: r }),
  );
  parentPort!.postMessage({ report });
  if (message.cmd === 'close') parentPort!.close();
});
parentPort!.postMessage({ ready: true });

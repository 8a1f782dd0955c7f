import type { Worker } from 'node:worker_threads';
import type { PollOptions } from '../poller.js';
import { attachThreadGuest, type ChannelOptions, type GuestConnection } from '../thread-host.js';
import type { GuestCommand, GuestReport } from './guest-driver.js';
import { tsWorker } from './ts-worker.js';

export interface TestGuest {
  readonly worker: Worker;
  readonly connection: GuestConnection;
  run(command: GuestCommand, onProgress?: (report: GuestReport) => void): Promise<GuestReport>;
}

export async function spawnThreadGuest(
  options: ChannelOptions & { guestPoll?: PollOptions } = {},
): Promise<TestGuest> {
  const worker = tsWorker(new URL('./thread-guest-main.ts', import.meta.url), {
    workerData: { poll: options.guestPoll },
  });
  const connection = attachThreadGuest(worker, options);
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: { ready?: boolean }) => {
      if (!m.ready) return;
      worker.off('message', onMessage);
      resolve();
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
  const run = (command: GuestCommand, onProgress?: (r: GuestReport) => void) =>
    new Promise<GuestReport>((resolve, reject) => {
      const onMessage = (m: { report?: GuestReport; progress?: GuestReport }) => {
        if (m.progress) onProgress?.(m.progress);
        if (!m.report) return;
        worker.off('message', onMessage);
        resolve(m.report);
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => reject(new Error(`guest exited with ${code}`)));
      worker.postMessage(command);
    });
  return { worker, connection, run };
}

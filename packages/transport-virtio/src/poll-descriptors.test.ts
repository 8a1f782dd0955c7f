import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createThreadRegion } from './echo-fixture.js';
import { createVirtioServerTransport } from './server-transport.js';
import { threadShmDoorbell } from './shm-doorbell.js';

/** This process's open descriptors, each as "fd -> what it names". */
function openDescriptors(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`];
    } catch {
      return []; // the descriptor readdir itself used, closed since
    }
  });
}

/** Descriptors open now that were not in `before`, once closes under way have finished. */
async function openedSince(before: readonly string[]): Promise<string[]> {
  let opened: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    opened = openDescriptors().filter((entry) => !before.includes(entry));
    if (opened.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return opened;
}

/**
 * A host device serves a guest thread whose driver is blocked in the middle of a poll loop
 * (see polling-guest.fixture.ts); the host terminates the thread. The worker is made the way an
 * application may make one, with `trackUnmanagedFds: false`: Node then closes what the thread
 * held as objects (sockets, FileHandles) at its end, but not raw descriptors from fs.open.
 */
async function terminateMidPoll(): Promise<void> {
  const region = createThreadRegion();
  const bell = threadShmDoorbell(region, 'device');
  const server = createVirtioServerTransport({ region, kicks: bell, interrupts: bell });
  server.serve(() => new Promise<Uint8Array>(() => {})); // never answers: the guest polls on
  const worker = new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), {
    execArgv: ['--conditions=@vrdma/source'],
    workerData: {
      entry: new URL('./polling-guest.fixture.ts', import.meta.url).href,
      buffer: region.bytes.buffer,
    },
    trackUnmanagedFds: false,
  });
  try {
    const report = await new Promise<{ error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the guest exited with ${code}`)));
    });
    if (report.error) throw new Error(report.error);
  } finally {
    await worker.terminate();
    await server.close();
  }
}

describe('descriptors and poll loops', () => {
  it('a guest thread terminated while its driver polls leaves no descriptor open', async () => {
    if (!existsSync('/proc/self/fd')) throw new Error('needs /proc/self/fd to count descriptors');
    // Whatever starting the first worker opens for good is not the loop's.
    await terminateMidPoll();
    const before = openDescriptors();
    for (let round = 0; round < 2; round++) await terminateMidPoll();
    expect(await openedSince(before)).toEqual([]);
  });
});

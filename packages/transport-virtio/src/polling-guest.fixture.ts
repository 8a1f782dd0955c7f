import { readdirSync, readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { Region } from '@vrdma/api-spec';
import { runDelayFileOpen } from '@vrdma/memory';
import { createVirtioClientTransport } from './client-transport.js';
import { callInfo, echoRequest } from './echo-fixture.js';
import { threadShmDoorbell } from './shm-doorbell.js';

/**
 * A guest in a worker thread caught in the middle of a poll loop. It calls a device that never
 * answers, with a poll window no test outlasts; once its driver has looked at the ring during
 * the current run, with this thread's scheduler statistics open (what the loop reads to tell
 * busy cores; open, not still opening: see runDelayFileOpen), it reports and blocks for good:
 * the run never ends, and whatever it holds is held when the host terminates the thread. A run
 * that ends first (the loop found the cores busy and stopped) is followed by another call, up
 * to MAX_CALLS.
 */
const MAX_CALLS = 250;
const { buffer } = workerData as { buffer: SharedArrayBuffer };
const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const bell = threadShmDoorbell(region, 'driver');
const client = createVirtioClientTransport({
  region,
  kicks: bell,
  interrupts: bell,
  queueSize: 256,
  maxInFlight: 256,
  requestBytes: 64,
  responseBytes: 64,
  pollBudgetUs: 10_000_000,
});

/** This thread's /proc/<pid>/task/<tid>/schedstat, as a descriptor's link names it. */
const mySchedstat = `/proc/${readlinkSync('/proc/thread-self')}/schedstat`;
function schedstatOpen(): boolean {
  return readdirSync('/proc/self/fd').some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === mySchedstat;
    } catch {
      return false; // the descriptor readdir itself used, closed since
    }
  });
}

let calls = 0;
function call(): void {
  calls++;
  void client.call(echoRequest(calls, Uint8Array.of(1)), callInfo(calls)).catch(() => {});
}

let seen = { runs: -1, looks: -1 };
function check(): void {
  const { polling, runs, looks } = client.poll;
  if (
    polling &&
    runs === seen.runs &&
    looks > seen.looks &&
    schedstatOpen() &&
    runDelayFileOpen()
  ) {
    parentPort!.postMessage({ calls, runs, looks });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never woken
  }
  if (!polling) {
    if (calls === MAX_CALLS) {
      parentPort!.postMessage({ error: `the driver never polled in ${MAX_CALLS} calls` });
      return;
    }
    call();
  }
  seen = { runs, looks };
  setImmediate(check);
}
call();
setImmediate(check);

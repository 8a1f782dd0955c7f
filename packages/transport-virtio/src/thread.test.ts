import { Worker } from 'node:worker_threads';
import { VrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { createThreadRegion, echoHandler, threadDoorbells } from './echo-fixture.js';
import { createVirtioServerTransport } from './server-transport.js';
import { threadShmDoorbell } from './shm-doorbell.js';

/** Starts a worker running a TypeScript entry (see ts-worker-bootstrap.mjs). */
function tsWorker(entry: URL, data: Record<string, unknown>): Worker {
  return new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), {
    execArgv: ['--conditions=@vrdma/source'],
    workerData: { entry: entry.href, ...data },
  });
}

interface GuestReport {
  ids: number[];
  mismatches: number;
  metrics: { messages: number; doorbells: number };
}

async function runGuest(calls: number, burst: number, doorbell: 'atomics' | 'shm' = 'atomics') {
  const region = createThreadRegion();
  const bells = threadDoorbells(region);
  const shmBell = doorbell === 'shm' ? threadShmDoorbell(region, 'device') : undefined;
  const server = createVirtioServerTransport({
    region,
    kicks: shmBell ?? bells.kick,
    interrupts: shmBell ?? bells.interrupt,
  });
  server.serve(echoHandler);
  const detached = new Promise((resolve) => server.onDisconnect(resolve));
  const worker = tsWorker(new URL('./thread-guest.fixture.ts', import.meta.url), {
    buffer: region.bytes.buffer,
    calls,
    burst,
    doorbell,
  });
  try {
    const report = await new Promise<GuestReport>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`guest exited with ${code}`)));
    });
    await detached; // the guest's close() resets the device and the host lets go
    return { report, server };
  } finally {
    await worker.terminate();
    await server.close();
  }
}

describe('virtio transport across a worker thread', () => {
  it('serves a guest thread calling one at a time and in bursts, across ring wrap', async () => {
    const { report, server } = await runGuest(300, 1);
    expect(report.mismatches).toBe(0);
    expect(report.ids).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(server.metrics.messages).toBe(300);

    const burst = await runGuest(640, 16);
    expect(burst.report.mismatches).toBe(0);
    expect(burst.report.ids).toHaveLength(640);
    expect(burst.server.metrics.messages).toBe(640);
    // The 16 calls of a burst are issued in one tick and published together: at most one kick
    // per burst, plus the one that told the device the driver is ready. Replies finished
    // together share at most one interrupt.
    expect(burst.report.metrics.doorbells).toBeLessThanOrEqual(640 / 16 + 1);
    expect(burst.server.metrics.doorbells).toBeLessThanOrEqual(640 / 16);
  });

  it("over transport-shm's doorbells, rings at most once per publish and per batch of replies", async () => {
    // How many rings are paid depends on whether the peer happened to be asleep; what the
    // protocol guarantees is the most: one kick per publish (plus the driver's ready kick) and
    // one interrupt per batch of replies. A peer still polling costs none.
    const single = await runGuest(300, 1, 'shm');
    expect(single.report.mismatches).toBe(0);
    expect(single.report.ids).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(single.report.metrics.doorbells).toBeLessThanOrEqual(300 + 1);
    expect(single.server.metrics.doorbells).toBeLessThanOrEqual(300);

    const burst = await runGuest(640, 16, 'shm');
    expect(burst.report.mismatches).toBe(0);
    expect(burst.report.ids).toHaveLength(640);
    expect(burst.server.metrics.messages).toBe(640);
    expect(burst.report.metrics.doorbells).toBeLessThanOrEqual(640 / 16 + 1);
    expect(burst.server.metrics.doorbells).toBeLessThanOrEqual(640 / 16);
  });

  it('a guest hammering the control plane does not keep another guest from being served', async () => {
    // Both devices poll on this thread's event loop. Guest A keeps its queue full for as long
    // as the test lets it; guest B calls one at a time meanwhile. If a poll loop did not yield,
    // or a guest's refills kept its device busy for good, B would never finish.
    const serveOn = (region: ReturnType<typeof createThreadRegion>) => {
      const bell = threadShmDoorbell(region, 'device');
      const server = createVirtioServerTransport({ region, kicks: bell, interrupts: bell });
      server.serve(echoHandler);
      return server;
    };
    const hammerRegion = createThreadRegion();
    const hammerServer = serveOn(hammerRegion);
    const stop = new SharedArrayBuffer(4);
    const hammer = tsWorker(new URL('./hammer-guest.fixture.ts', import.meta.url), {
      buffer: hammerRegion.bytes.buffer,
      stop,
      burst: 32,
    });
    const hammerReport = new Promise<{ calls: number }>((resolve, reject) => {
      hammer.once('message', resolve);
      hammer.once('error', reject);
    });
    const otherRegion = createThreadRegion();
    const otherServer = serveOn(otherRegion);
    try {
      // A is under way before B starts.
      while (hammerServer.metrics.messages < 2_000) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const other = tsWorker(new URL('./thread-guest.fixture.ts', import.meta.url), {
        buffer: otherRegion.bytes.buffer,
        calls: 200,
        burst: 1,
        doorbell: 'shm',
      });
      const hammeredAtStart = hammerServer.metrics.messages;
      const report = await new Promise<GuestReport>((resolve, reject) => {
        other.once('message', resolve);
        other.once('error', reject);
      });
      const hammeredMeanwhile = hammerServer.metrics.messages - hammeredAtStart;
      await other.terminate();
      expect(report.ids).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(report.mismatches).toBe(0);
      // A kept hammering all along: it was served while B's 200 calls went through.
      expect(Atomics.load(new Int32Array(stop), 0)).toBe(0);
      expect(hammeredMeanwhile).toBeGreaterThan(200);
      Atomics.store(new Int32Array(stop), 0, 1);
      const { calls } = await hammerReport;
      expect(calls).toBeGreaterThanOrEqual(hammerServer.metrics.messages);
    } finally {
      Atomics.store(new Int32Array(stop), 0, 1);
      await hammer.terminate();
      await hammerServer.close();
      await otherServer.close();
    }
  });

  it('a guest thread terminated mid-call is a clean disconnect for the host', async () => {
    const region = createThreadRegion();
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    let requests = 0;
    const firstRequest = new Promise<void>((resolve) =>
      server.serve(() => {
        requests++;
        resolve();
        return new Promise<Uint8Array>(() => {}); // never answers: the guest stays mid-call
      }),
    );
    const worker = tsWorker(new URL('./thread-guest.fixture.ts', import.meta.url), {
      buffer: region.bytes.buffer,
      calls: 1,
      burst: 1,
    });
    worker.once('exit', (code) =>
      server.detach(new VrdmaError('DISCONNECTED', `guest thread exited with code ${code}`)),
    );
    const gone = new Promise<VrdmaError>((resolve) => server.onDisconnect(resolve));
    await firstRequest;
    await worker.terminate();
    const reason = await gone;
    expect(reason.code).toBe('DISCONNECTED');
    expect(reason.message).toMatch(/exited/);
    expect(requests).toBe(1);
    await server.close();
  });
});

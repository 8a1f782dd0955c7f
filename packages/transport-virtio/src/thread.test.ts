import { Worker } from 'node:worker_threads';
import { VrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import type { PollState } from './busy-poller.js';
import {
  createThreadRegion,
  echoHandler,
  threadDoorbells,
  untilPollingStops,
} from './echo-fixture.js';
import { DEFAULT_POLL_BUDGET_US } from './poll-budget.js';
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

  it('a guest flooding its queue, reading no reply, has at most its queue served at once; another guest is served meanwhile', async () => {
    const QUEUE = 16;
    const floodRegion = createThreadRegion();
    const floodBell = threadShmDoorbell(floodRegion, 'device');
    const flood = createVirtioServerTransport({
      region: floodRegion,
      kicks: floodBell,
      interrupts: floodBell,
    });
    let serving = 0;
    let maxServing = 0;
    let maxOutstanding = 0;
    flood.serve((request) => {
      serving++;
      maxServing = Math.max(maxServing, serving);
      maxOutstanding = Math.max(maxOutstanding, flood.outstanding);
      // Answered on a later turn, in order, as a host that hands calls to an engine would.
      return new Promise<Uint8Array>((resolve) =>
        setImmediate(() => {
          serving--;
          resolve(echoHandler(request));
        }),
      );
    });
    const stop = new SharedArrayBuffer(4);
    const flooder = tsWorker(new URL('./flood-guest.fixture.ts', import.meta.url), {
      buffer: floodRegion.bytes.buffer,
      stop,
      queueSize: QUEUE,
    });
    const flooderGone = new Promise<never>((_, reject) => {
      flooder.once('error', reject);
      flooder.once('exit', (code) => reject(new Error(`the flooder exited with ${code}`)));
    });
    const flooderReport = new Promise<{ offered: number }>((resolve) =>
      flooder.once('message', resolve),
    );
    const otherRegion = createThreadRegion();
    const otherBell = threadShmDoorbell(otherRegion, 'device');
    const other = createVirtioServerTransport({
      region: otherRegion,
      kicks: otherBell,
      interrupts: otherBell,
    });
    other.serve(echoHandler);
    try {
      // The flood is under way before the other guest starts.
      const underWay = (async () => {
        while (flood.metrics.messages < 2_000) {
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })();
      await Promise.race([underWay, flooderGone]);
      const guest = tsWorker(new URL('./thread-guest.fixture.ts', import.meta.url), {
        buffer: otherRegion.bytes.buffer,
        calls: 200,
        burst: 1,
        doorbell: 'shm',
      });
      const floodedAtStart = flood.metrics.messages;
      const report = await Promise.race([
        new Promise<GuestReport>((resolve, reject) => {
          guest.once('message', resolve);
          guest.once('error', reject);
        }),
        flooderGone,
      ]);
      const floodedMeanwhile = flood.metrics.messages - floodedAtStart;
      await guest.terminate();
      expect(report.ids).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(report.mismatches).toBe(0);
      expect(floodedMeanwhile).toBeGreaterThan(200); // the flood went on all along

      // The flood filled the queue, and the host never held more: the used ring went round
      // over a hundred times unread, and no reply waits on the host's side for it.
      expect(maxOutstanding).toBe(QUEUE);
      expect(maxServing).toBe(QUEUE);
      expect(flood.metrics.messages).toBeGreaterThan(100 * QUEUE);
      expect(flood.fault).toBeUndefined();
      Atomics.store(new Int32Array(stop), 0, 1);
      const { offered } = await Promise.race([flooderReport, flooderGone]);
      expect(offered).toBeGreaterThanOrEqual(flood.metrics.messages);
      expect(offered - flood.metrics.messages).toBeLessThanOrEqual(QUEUE);
    } finally {
      Atomics.store(new Int32Array(stop), 0, 1);
      await flooder.terminate();
      await flood.close();
      await other.close();
    }
  });

  it('after a burst, an idle device and driver stop polling: their looks stand still for 200 ms', async () => {
    // As a host runs them: guest in a worker, transport-shm doorbells, default window, guard on.
    const region = createThreadRegion();
    const bell = threadShmDoorbell(region, 'device');
    const server = createVirtioServerTransport({ region, kicks: bell, interrupts: bell });
    server.serve(echoHandler);
    const guest = tsWorker(new URL('./idle-guest.fixture.ts', import.meta.url), {
      buffer: region.bytes.buffer,
      bursts: 20,
      burst: 32,
      singles: 200,
    });
    interface DriverState {
      calls: number;
      poll: PollState;
      metrics: { messages: number; doorbells: number };
    }
    const replies: DriverState[] = [];
    const waiting: Array<{ resolve(state: DriverState): void; reject(error: Error): void }> = [];
    let failure: Error | undefined;
    guest.on('message', (state: DriverState) => {
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(state);
      else replies.push(state);
    });
    const fail = (error: Error) => {
      failure = error;
      for (const waiter of waiting.splice(0)) waiter.reject(error);
    };
    guest.on('error', fail);
    guest.on('exit', (code) => fail(new Error(`the guest exited with ${code}`)));
    const nextState = () =>
      new Promise<DriverState>((resolve, reject) => {
        const ready = replies.shift();
        if (ready) resolve(ready);
        else if (failure) reject(failure);
        else waiting.push({ resolve, reject });
      });
    const ask = (what: 'state' | 'call') => {
      guest.postMessage(what);
      return nextState();
    };
    const sleep200ms = async () => {
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    try {
      const burst = await nextState();
      expect(burst.calls).toBe(20 * 32 + 200);
      expect(server.metrics.messages).toBe(burst.calls);
      // The driver's loop ends with its last reply; the device's when its window runs out.
      let driver = await ask('state');
      for (let i = 0; driver.poll.polling; i++) {
        if (i === 1000) throw new Error('the driver still polls with no call in flight');
        driver = await ask('state');
      }
      await untilPollingStops(server.poll);
      const device = { ...server.poll, doorbells: server.metrics.doorbells };

      // Not one look at either ring meanwhile, nor a doorbell. (A sleeping side still wakes
      // when its doorbell's safety timeout, 250 ms, expires: that takes nothing and looks no
      // further, so `runs` may grow by one.)
      await sleep200ms();
      const idleDriver = await ask('state');
      expect(idleDriver.poll).toMatchObject({ polling: false, looks: driver.poll.looks });
      expect(idleDriver.metrics.doorbells).toBe(driver.metrics.doorbells);
      expect(server.poll).toMatchObject({ polling: false, looks: device.looks });
      expect(server.metrics.doorbells).toBe(device.doorbells);

      // Calls far apart: each finds the device asleep and halves its window, so a guest that
      // calls now and then costs fewer µs of polling per call.
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await untilPollingStops(server.poll);
        const { runs, caught } = server.poll;
        await ask('call');
        expect(server.poll.runs).toBeGreaterThan(runs); // woken for it...
        expect(server.poll.caught).toBe(caught); // ...by its kick: nobody was looking
      }
      expect(server.poll.budgetUs).toBeLessThanOrEqual(DEFAULT_POLL_BUDGET_US / 8);
      await untilPollingStops(server.poll);
      const after = { ...server.poll };
      await sleep200ms();
      expect(server.poll).toMatchObject({ polling: false, looks: after.looks });
    } finally {
      await guest.terminate();
      await server.close();
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

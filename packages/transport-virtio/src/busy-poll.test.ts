import { describe, expect, it } from 'vitest';
import { createVirtioClientTransport } from './client-transport.js';
import { VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX } from './constants.js';
import {
  callInfo,
  createThreadRegion,
  echoHandler,
  echoRequest,
  threadDoorbells,
  untilPollingStops,
} from './echo-fixture.js';
import { featureBit } from './features.js';
import { createVirtioServerTransport } from './server-transport.js';

/** A window no test outlasts: the side polls for as long as the test needs it to. */
const WIDE_OPEN_US = 10_000_000;

const SUPPRESSION = [
  ['EVENT_IDX', featureBit(VIRTIO_F_VERSION_1) | featureBit(VIRTIO_RING_F_EVENT_IDX)],
  ['NO_NOTIFY / NO_INTERRUPT flags', featureBit(VIRTIO_F_VERSION_1)],
] as const;

/**
 * Device and driver in this thread, with counting Atomics doorbells. They poll on even when
 * this thread waits for a CPU (another test file, another process): what is asserted here is
 * what polling does, not whether a busy machine should have it.
 */
function connect(options: { features: bigint; devicePollUs: number; driverPollUs: number }) {
  const region = createThreadRegion();
  const bells = threadDoorbells(region);
  const server = createVirtioServerTransport({
    region,
    kicks: bells.kick,
    interrupts: bells.interrupt,
    pollBudgetUs: options.devicePollUs,
    pollWhenContended: true,
  });
  server.serve(echoHandler);
  const client = createVirtioClientTransport({
    region,
    kicks: bells.kick,
    interrupts: bells.interrupt,
    features: options.features,
    queueSize: 8,
    pollBudgetUs: options.driverPollUs,
    pollWhenContended: true,
  });
  const counts = () => ({
    kicks: client.metrics.doorbells,
    interrupts: server.metrics.doorbells,
    served: server.metrics.messages,
  });
  const close = async () => {
    await client.close();
    await server.close();
  };
  return { server, client, counts, close };
}

function callIdOf(reply: Uint8Array): number {
  return new DataView(reply.buffer, reply.byteOffset).getUint32(4, true);
}

describe('busy polling of the virtqueue', () => {
  for (const [suppression, features] of SUPPRESSION) {
    it(`a burst of calls while the device polls costs no kick, and replies polled for no interrupt (${suppression})`, async () => {
      const { server, client, counts, close } = connect({
        features,
        devicePollUs: WIDE_OPEN_US,
        driverPollUs: WIDE_OPEN_US,
      });
      await client.call(echoRequest(1, Uint8Array.of(1)), callInfo(1)); // wakes the device
      expect(server.poll.polling).toBe(true); // it served work and keeps looking
      const before = counts();
      const caughtBefore = server.poll.caught;
      // 40 calls through a queue of 8: five publishes, one at a time, and 10 single calls.
      const ids = Array.from({ length: 40 }, (_, i) => 100 + i);
      const replies = await Promise.all(
        ids.map((id) => client.call(echoRequest(id, Uint8Array.of(id)), callInfo(id))),
      );
      expect(replies.map(callIdOf)).toEqual(ids);
      for (let id = 200; id < 210; id++) {
        expect(callIdOf(await client.call(echoRequest(id, Uint8Array.of(1)), callInfo(id)))).toBe(
          id,
        );
      }
      const after = counts();
      expect(after.served - before.served).toBe(50);
      expect(after.kicks - before.kicks).toBe(0);
      expect(after.interrupts - before.interrupts).toBe(0);
      expect(server.poll.caught).toBeGreaterThan(caughtBefore); // found by looking
      expect(client.poll.caught).toBeGreaterThan(0);
      await close();
    });

    it(`an idle device and driver stop polling; the next call pays exactly one kick (${suppression})`, async () => {
      const { server, client, counts, close } = connect({
        features,
        devicePollUs: 50,
        driverPollUs: 50,
      });
      for (let id = 1; id <= 20; id++)
        await client.call(echoRequest(id, Uint8Array.of(1)), callInfo(id));
      await untilPollingStops(server.poll, client.poll);
      const idle = { device: { ...server.poll }, driver: { ...client.poll }, ...counts() };
      // Idle for a while: timers and turns of the event loop pass, and nobody looks.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 2));
      for (let i = 0; i < 100; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(server.poll).toMatchObject({ polling: false, looks: idle.device.looks });
      expect(client.poll).toMatchObject({ polling: false, looks: idle.driver.looks });
      expect(server.poll.runs).toBe(idle.device.runs);

      const reply = await client.call(echoRequest(99, Uint8Array.of(1)), callInfo(99));
      expect(callIdOf(reply)).toBe(99);
      const after = counts();
      expect(after.kicks - idle.kicks).toBe(1); // the sleeping device had to be woken
      expect(server.poll.runs - idle.device.runs).toBe(1); // by that kick, once
      // The driver polls for the reply; only if its window ran out first did it need one.
      expect(after.interrupts - idle.interrupts).toBeLessThanOrEqual(1);
      await close();
    });
  }

  it('a driver whose window runs out sleeps, and the interrupt completes its call', async () => {
    const region = createThreadRegion();
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    let answer: (() => void) | undefined;
    const arrived = new Promise<void>((resolve) =>
      server.serve(
        (request) =>
          new Promise<Uint8Array>((reply) => {
            answer = () => reply(echoHandler(request));
            resolve();
          }),
      ),
    );
    const client = createVirtioClientTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
      pollBudgetUs: 20,
    });
    const pending = client.call(echoRequest(5, Uint8Array.of(5)), callInfo(5));
    await arrived; // the host holds the call
    await untilPollingStops(client.poll); // the driver gave up looking, interrupts back on
    const interrupts = server.metrics.doorbells;
    answer!();
    expect(callIdOf(await pending)).toBe(5);
    expect(server.metrics.doorbells - interrupts).toBe(1);
    await client.close();
    await server.close();
  });

  it('a device whose handler outlasts its window polls again from the reply on', async () => {
    // The guest's next call follows the reply, not the request: a device that stopped
    // polling during a long (async) call must look again once it answers, without a kick.
    const region = createThreadRegion();
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
      pollBudgetUs: 20,
      pollWhenContended: true,
    });
    let answer: (() => void) | undefined;
    const arrived = new Promise<void>((resolve) =>
      server.serve(
        (request) =>
          new Promise<Uint8Array>((reply) => {
            answer = () => reply(echoHandler(request));
            resolve();
          }),
      ),
    );
    const client = createVirtioClientTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    const pending = client.call(echoRequest(5, Uint8Array.of(5)), callInfo(5));
    await arrived;
    await untilPollingStops(server.poll); // the call is still being served
    const runs = server.poll.runs;
    const kicks = client.metrics.doorbells;
    answer!();
    expect(callIdOf(await pending)).toBe(5);
    expect(server.poll.runs).toBe(runs + 1); // started by the reply...
    expect(client.metrics.doorbells).toBe(kicks); // ...not by a kick
    await client.close();
    await server.close();
  });

  it('with polling turned off, every call costs one kick and one interrupt, as before', async () => {
    const { client, counts, close } = connect({
      features: featureBit(VIRTIO_F_VERSION_1) | featureBit(VIRTIO_RING_F_EVENT_IDX),
      devicePollUs: 0,
      driverPollUs: 0,
    });
    await client.call(echoRequest(1, Uint8Array.of(1)), callInfo(1));
    const before = counts();
    for (let id = 2; id <= 21; id++)
      await client.call(echoRequest(id, Uint8Array.of(1)), callInfo(id));
    const after = counts();
    expect(after.kicks - before.kicks).toBe(20);
    expect(after.interrupts - before.interrupts).toBe(20);
    expect(client.poll.looks).toBe(0);
    await close();
  });
});

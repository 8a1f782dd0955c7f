import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { createVirtioClientTransport } from './client-transport.js';
import { CONFIG } from './config-block.js';
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

function connect(options: { features?: bigint; indirect?: boolean; queueSize?: number } = {}) {
  const region = createThreadRegion();
  const bells = threadDoorbells(region);
  const server = createVirtioServerTransport({
    region,
    kicks: bells.kick,
    interrupts: bells.interrupt,
  });
  server.serve(echoHandler);
  const client = createVirtioClientTransport({
    region,
    kicks: bells.kick,
    interrupts: bells.interrupt,
    ...options,
  });
  return { region, server, client, bells };
}

function payload(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
}

describe('virtio control-plane transport (one thread, Atomics doorbells)', () => {
  it('round-trips calls, matched by call id, with and without indirect or EVENT_IDX', async () => {
    const variants = [
      {},
      { indirect: false },
      { features: featureBit(VIRTIO_F_VERSION_1) },
      { features: featureBit(VIRTIO_F_VERSION_1) | featureBit(VIRTIO_RING_F_EVENT_IDX) },
    ];
    for (const variant of variants) {
      const { server, client } = connect(variant);
      for (let id = 1; id <= 20; id++) {
        const reply = await client.call(echoRequest(id, payload(id)), callInfo(id));
        expect(new DataView(reply.buffer).getUint32(4, true)).toBe(id);
        expect([...reply.subarray(12)]).toEqual([...payload(id)].reverse());
      }
      expect(client.metrics.messages).toBe(20);
      expect(server.metrics.messages).toBe(20);
      await client.close();
      await server.close();
    }
  });

  it('sends calls issued together under one kick, more than the queue holds', async () => {
    const { server, client } = connect({ queueSize: 8 });
    await client.call(echoRequest(1, payload(1)), callInfo(1));
    await untilPollingStops(server.poll, client.poll); // the device sleeps: the next call kicks
    expect(client.maxInFlight).toBe(8);
    const kicksBefore = client.metrics.doorbells;
    const interruptsBefore = server.metrics.doorbells;
    const ids = Array.from({ length: 50 }, (_, i) => i + 100);
    const pending = Promise.all(
      ids.map((id) => client.call(echoRequest(id, payload(id % 40)), callInfo(id))),
    );
    // The tick's calls are published in a microtask queued by the first of them: by now the
    // first 8 (all the queue holds) went out together, under one kick of the idle device.
    await Promise.resolve();
    expect(client.metrics.doorbells - kicksBefore).toBe(1);

    const replies = await pending;
    replies.forEach((reply, i) => {
      expect(new DataView(reply.buffer).getUint32(4, true)).toBe(ids[i]);
    });
    expect(server.metrics.messages).toBe(1 + ids.length);
    // The other 42 went out as replies freed their buffers. Freed buffers are reused only when
    // an interrupt is handled, and all that one handling reissues is published together: at
    // most one kick per interrupt, after the first.
    const kicks = client.metrics.doorbells - kicksBefore;
    const interrupts = server.metrics.doorbells - interruptsBefore;
    expect(kicks).toBeLessThanOrEqual(1 + interrupts);
    expect(server.negotiated).toBe(client.negotiated);
    await client.close();
    await server.close();
  });

  it('serves a guest that refills its queue endlessly in slices, so others are not starved', async () => {
    const flooder = connect({ queueSize: 8 });
    const other = connect();
    await flooder.client.call(echoRequest(1, payload(1)), callInfo(1)); // head 0 is now known
    const view = new DataView(flooder.region.bytes.buffer);
    const avail = Number(view.getBigUint64(CONFIG.avail, true));
    let floodServed = 0;
    let floodServedWhenOtherAnswered = -1;
    flooder.server.serve((request) => {
      // Acting as the guest from another thread: put head 0 back in the ring at once, forever.
      if (++floodServed < 1000) {
        const idx = view.getUint16(avail + 2, true);
        view.setUint16(avail + 4 + 2 * (idx & 7), 0, true);
        view.setUint16(avail + 2, (idx + 1) & 0xffff, true);
      }
      return echoHandler(request);
    });
    void flooder.client.call(echoRequest(2, payload(1)), callInfo(2)).catch(() => {});
    const reply = await other.client.call(echoRequest(7, payload(3)), callInfo(7));
    floodServedWhenOtherAnswered = floodServed;
    expect(new DataView(reply.buffer).getUint32(4, true)).toBe(7);
    expect(floodServedWhenOtherAnswered).toBeGreaterThan(0);
    expect(floodServedWhenOtherAnswered).toBeLessThan(1000);
    for (const side of [flooder, other]) {
      await side.client.close();
      await side.server.close();
    }
  });

  it('serves replies out of order', async () => {
    const region = createThreadRegion();
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    // The host holds every call until the test says which one it finishes next.
    const finish = new Map<number, () => void>();
    const allArrived = new Promise<void>((resolve) =>
      server.serve(
        (request) =>
          new Promise<Uint8Array>((answer) => {
            finish.set(request[12]!, () => answer(echoHandler(request)));
            if (finish.size === 3) resolve();
          }),
      ),
    );
    const client = createVirtioClientTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    const answered: number[] = [];
    const calls = [1, 2, 3].map((id) =>
      client.call(echoRequest(id, Uint8Array.of(id)), callInfo(id)).then((reply) => {
        answered.push(new DataView(reply.buffer).getUint32(4, true));
      }),
    );
    await allArrived;
    // Finished 2, 3, 1: each reply reaches its own caller while the earlier calls still wait.
    for (const id of [2, 3, 1]) {
      finish.get(id)!();
      await calls[id - 1];
    }
    expect(answered).toEqual([2, 3, 1]);
    await client.close();
    await server.close();
  });

  it('fails a request or a reply too large for its buffer with a typed error', async () => {
    const region = createThreadRegion();
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    server.serve(() => new Uint8Array(100));
    const client = createVirtioClientTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
      requestBytes: 64,
      responseBytes: 64,
    });
    await expect(client.call(new Uint8Array(65), callInfo(1))).rejects.toMatchObject({
      code: 'TRANSPORT',
    });
    await expect(client.call(echoRequest(2, payload(4)), callInfo(2))).rejects.toMatchObject({
      code: 'TRANSPORT',
      message: expect.stringMatching(/empty reply/),
    });
    await client.close();
    await server.close();
  });

  it('fails an aborted call with ABORTED and keeps the transport working', async () => {
    const region = createThreadRegion();
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) =>
      server.serve(async (request) => {
        if (request[12] === 1) {
          resolve();
          await new Promise<void>((r) => (release = r));
        }
        return echoHandler(request);
      }),
    );
    const client = createVirtioClientTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    const controller = new AbortController();
    const slow = client.call(echoRequest(1, Uint8Array.of(1)), {
      ...callInfo(1),
      signal: controller.signal,
    });
    await held; // the call is at the host, which holds it
    controller.abort();
    await expect(slow).rejects.toMatchObject({ code: 'ABORTED' });
    release!(); // the host's late reply to the aborted call must not disturb the next one
    const reply = await client.call(echoRequest(2, Uint8Array.of(2)), callInfo(2));
    expect(new DataView(reply.buffer).getUint32(4, true)).toBe(2);
    await client.close();
    await server.close();
  });

  it('fails pending calls with DISCONNECTED when the host goes away', async () => {
    const region = createThreadRegion();
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    const held = new Promise<void>((resolve) =>
      server.serve(() => {
        resolve();
        return new Promise<Uint8Array>(() => {}); // never answers
      }),
    );
    const client = createVirtioClientTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    const reasons: string[] = [];
    client.onDisconnect((reason) => reasons.push(reason.code));
    const pending = client.call(echoRequest(1, payload(3)), callInfo(1));
    await held; // the call is pending at the host
    await server.close();
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(reasons).toEqual(['DISCONNECTED']);
    await expect(client.call(echoRequest(2, payload(3)), callInfo(2))).rejects.toMatchObject({
      code: 'DISCONNECTED',
    });
  });

  it('tells the host when the guest resets (closes) its device', async () => {
    const { server, client } = connect();
    const gone = new Promise((resolve) => server.onDisconnect(resolve));
    await client.call(echoRequest(1, payload(1)), callInfo(1));
    await client.close();
    expect(isVrdmaError(await gone, 'DISCONNECTED')).toBe(true);
  });

  it('a hostile guest breaks only its own queue and gets a typed error', async () => {
    const honest = connect();
    const hostile = connect();
    const faults: string[] = [];
    hostile.server.onDisconnect((reason) => faults.push(reason.message));
    await hostile.client.call(echoRequest(1, payload(1)), callInfo(1));
    // The guest scribbles a wild avail idx over its ring and kicks.
    const view = new DataView(hostile.region.bytes.buffer);
    const availAt = Number(view.getBigUint64(CONFIG.avail, true));
    view.setUint16(availAt + 2, 40_000, true);
    hostile.bells.kick.notify();
    const reason = await new Promise((resolve) => hostile.client.onDisconnect(resolve));
    expect(isVrdmaError(reason, 'TRANSPORT')).toBe(true);
    expect(String(reason)).toMatch(/avail-idx-out-of-range/);
    await expect(
      hostile.client.call(echoRequest(2, payload(2)), callInfo(2)),
    ).rejects.toMatchObject({ code: 'TRANSPORT' });
    expect(hostile.server.fault).toBe('avail-idx-out-of-range');
    expect(faults[0]).toMatch(/avail-idx-out-of-range/);
    // The honest guest is still served.
    const reply = await honest.client.call(echoRequest(3, payload(5)), callInfo(3));
    expect(new DataView(reply.buffer).getUint32(4, true)).toBe(3);
    await honest.client.close();
    await honest.server.close();
  });

  it('a guest that offers the head of a call the host still serves breaks only its own queue', async () => {
    // Else a guest could make the host serve any number of its calls at once.
    const honest = connect();
    const hostile = connect();
    let held = 0;
    hostile.server.serve(() => {
      held++;
      return new Promise<Uint8Array>(() => {}); // the host is still on it
    });
    void hostile.client.call(echoRequest(1, payload(1)), callInfo(1)).catch(() => {});
    while (held === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(hostile.server.outstanding).toBe(1);
    // The guest puts the same head in the avail ring again and kicks.
    const view = new DataView(hostile.region.bytes.buffer);
    const availAt = Number(view.getBigUint64(CONFIG.avail, true));
    const size = view.getUint32(CONFIG.queueSize, true);
    const idx = view.getUint16(availAt + 2, true);
    const head = view.getUint16(availAt + 4 + 2 * ((idx - 1) & (size - 1)), true);
    view.setUint16(availAt + 4 + 2 * (idx & (size - 1)), head, true);
    view.setUint16(availAt + 2, (idx + 1) & 0xffff, true);
    hostile.bells.kick.notify();
    const reason = await new Promise((resolve) => hostile.client.onDisconnect(resolve));
    expect(String(reason)).toMatch(/head-in-use/);
    expect(hostile.server.fault).toBe('head-in-use');
    expect(held).toBe(1); // the second offer was never served
    const reply = await honest.client.call(echoRequest(3, payload(5)), callInfo(3));
    expect(new DataView(reply.buffer).getUint32(4, true)).toBe(3);
    await honest.client.close();
    await honest.server.close();
  });

  it('refuses a driver that programs a bad queue', async () => {
    const region = createThreadRegion(1 << 19);
    const bells = threadDoorbells(region);
    const server = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    server.serve(echoHandler);
    const client = createVirtioClientTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    await client.call(echoRequest(1, payload(1)), callInfo(1));
    await client.close();
    // A second driver attaches with the descriptor table inside the configuration block.
    const view = new DataView(region.bytes.buffer);
    const server2 = createVirtioServerTransport({
      region,
      kicks: bells.kick,
      interrupts: bells.interrupt,
    });
    server2.serve(echoHandler);
    const refused = new Promise((resolve) => server2.onDisconnect(resolve));
    view.setUint32(CONFIG.driverFeatures, 0, true);
    view.setUint32(CONFIG.driverFeatures + 4, 1, true); // VERSION_1
    view.setUint32(CONFIG.queueSize, 8, true);
    view.setBigUint64(CONFIG.desc, 0n, true);
    view.setBigUint64(CONFIG.avail, 4096n, true);
    view.setBigUint64(CONFIG.used, 8192n, true);
    view.setUint32(CONFIG.status, 0x0f, true);
    bells.kick.notify();
    const reason = await refused;
    expect(String(reason)).toMatch(/bad-configuration.*configuration block/);
    expect(server2.fault).toBe('bad-configuration');
  });

  for (const [what, program] of [
    ['DRIVER_OK without FEATURES_OK', { status: 0x07 }],
    ['features the device never offered', { features: [0, 1 | 0x100] }],
    ['no VIRTIO_F_VERSION_1', { features: [0, 0] }],
    ['a queue larger than offered', { size: 1024 }],
    ['a queue size that is not a power of two', { size: 12 }],
    ['a misaligned used ring', { used: 8194 }],
  ] as const) {
    it(`refuses a driver that sets up ${what}`, async () => {
      const region = createThreadRegion(1 << 16);
      const bells = threadDoorbells(region);
      const server = createVirtioServerTransport({
        region,
        kicks: bells.kick,
        interrupts: bells.interrupt,
      });
      server.serve(echoHandler);
      const refused = new Promise<unknown>((resolve) => server.onDisconnect(resolve));
      const view = new DataView(region.bytes.buffer);
      const p = program as {
        status?: number;
        features?: readonly number[];
        size?: number;
        used?: number;
      };
      view.setUint32(CONFIG.driverFeatures, p.features?.[0] ?? 0, true);
      view.setUint32(CONFIG.driverFeatures + 4, p.features?.[1] ?? 1, true);
      view.setUint32(CONFIG.queueSize, p.size ?? 8, true);
      view.setBigUint64(CONFIG.desc, 4096n, true);
      view.setBigUint64(CONFIG.avail, 6144n, true);
      view.setBigUint64(CONFIG.used, BigInt(p.used ?? 8192), true);
      view.setUint32(CONFIG.status, p.status ?? 0x0f, true);
      bells.kick.notify();
      expect(String(await refused)).toMatch(/bad-configuration/);
      expect(server.fault).toBe('bad-configuration');
      expect(view.getUint32(CONFIG.status, true) & 0x40).toBe(0x40); // NEEDS_RESET
      expect(view.getUint32(CONFIG.fault, true)).toBe(14);
    });
  }
});

import { createDispatcher, createMemoryTransportPair, sessionSpec } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { createSharedRegion } from '@vrdma/memory';
import { type UnimemSession, unimemSpec } from '@vrdma/unimem-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectUnimem } from './connect.js';

/** The smallest host: a session dispatcher and an engine session, one per plane pair. */
function fakeHost(grant: string[]) {
  const memory = createSharedRegion(7, 1 << 16);
  const engine: UnimemSession = createMockCluster().engine(0).openSession({ memory });
  const api = createDispatcher(unimemSpec, engine);
  const hello = createDispatcher(sessionSpec, {
    hello: () => ({ host: 'fake', guest: 42, features: grant, leaseMs: 60 }),
    ping: () => undefined,
    goodbye: () => undefined,
  });
  const control = createMemoryTransportPair();
  const data = createMemoryTransportPair();
  const pings = { count: 0 };
  control.server.serve((frame) => {
    const fp = new DataView(frame.buffer, frame.byteOffset).getUint32(8, true);
    if (fp === sessionSpec.fingerprint32 && frame[2] === 2) pings.count++;
    return (fp === sessionSpec.fingerprint32 ? hello : api).handle(frame);
  });
  data.server.serve((frame) => api.handle(frame));
  return { memory, control, data, pings };
}

describe('connectUnimem', () => {
  it('sends control calls over the control transport and data calls over the data transport', async () => {
    const host = fakeHost([]);
    const device = await connectUnimem({
      control: host.control.client,
      data: host.data.client,
      memory: host.memory,
    });
    expect(device.connection).toMatchObject({ guest: 42, host: 'fake', features: [] });
    await device.open();
    const buffer = await device.alloc({ size: 64 });
    const { channel } = await device.openChannel();
    const controlBefore = host.control.server.metrics.messages;
    const dataBefore = host.data.server.metrics.messages;
    await device.poll({ channel });
    await device.wait({ channel, timeoutMs: 1 });
    expect(host.data.server.metrics.messages - dataBefore).toBe(2);
    expect(host.control.server.metrics.messages - controlBefore).toBe(0);
    await device.free({ buffer: buffer.buffer });
    expect(host.control.server.metrics.messages - controlBefore).toBe(1);
  });

  it('views only its own region, as the very bytes of that region', async () => {
    const host = fakeHost([]);
    const device = await connectUnimem({
      control: host.control.client,
      data: host.data.client,
      memory: host.memory,
    });
    await device.open();
    const { ref } = await device.alloc({ size: 16 });
    device.view(ref).fill(3);
    expect(host.memory.bytes[ref.offset]).toBe(3);
    expect(() => device.view({ ...ref, region: 8 })).toThrow(/not this guest's region/);
    expect(() => device.view({ ...ref, offset: host.memory.size })).toThrow(RangeError);
  });

  describe('keepalive', () => {
    // The keepalive is an interval timer: fake that clock (only that one), so the test says
    // how many pings a span of time is worth, however slowly this machine runs it.
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('pings every third of the lease while the feature is granted, and never once closed', async () => {
      const host = fakeHost(['keepalive']); // a 60 ms lease: a ping every 20 ms
      const device = await connectUnimem({
        control: host.control.client,
        data: host.data.client,
        memory: host.memory,
      });
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(19);
      expect(host.pings.count).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(host.pings.count).toBe(1);
      await vi.advanceTimersByTimeAsync(100);
      expect(host.pings.count).toBe(6);

      await device.dispose();
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(10 * 60);
      expect(host.pings.count).toBe(6);
      await expect(device.query()).rejects.toMatchObject({ code: 'DISCONNECTED' });
    });

    it('does not ping when the host did not grant it', async () => {
      const host = fakeHost([]);
      await connectUnimem({
        control: host.control.client,
        data: host.data.client,
        memory: host.memory,
      });
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(10 * 60);
      expect(host.pings.count).toBe(0);
    });
  });
});

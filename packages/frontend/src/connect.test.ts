import { createDispatcher, createMemoryTransportPair, sessionSpec } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { createSharedRegion } from '@vrdma/memory';
import { type UnimemSession, unimemSpec } from '@vrdma/unimem-api';
import { describe, expect, it } from 'vitest';
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

  it('pings while the keepalive feature is granted, and stops once closed', async () => {
    const host = fakeHost(['keepalive']);
    const device = await connectUnimem({
      control: host.control.client,
      data: host.data.client,
      memory: host.memory,
    });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(host.pings.count).toBeGreaterThanOrEqual(2);
    await device.dispose();
    const after = host.pings.count;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(host.pings.count).toBe(after);
    await expect(device.query()).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});

import {
  createDispatcher,
  createMemoryTransportPair,
  defineApi,
  sessionSpec,
  VrdmaError,
} from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { createSharedRegion } from '@vrdma/memory';
import { type UnimemSession, unimemSession, unimemSpec } from '@vrdma/unimem-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type ConnectOptions, connect } from './connect.js';

/** The Unimem API over a connection, as an application holds it. */
async function connectUnimem(options: Omit<ConnectOptions<typeof unimemSpec>, 'spec'>) {
  return unimemSession(await connect({ spec: unimemSpec, ...options }));
}

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

describe('connect', () => {
  /** A control-plane-only API with no buffers: a guest of it brings no memory and no data plane. */
  const counterSpec = defineApi({
    name: 'counter',
    version: 1,
    errors: [],
    functions: {
      add: {
        plane: 'control',
        args: { by: z.number().int().min(1).max(100) },
        result: z.object({ total: z.number().int() }),
        errors: [],
      },
    },
  });

  function counterHost(refuse?: VrdmaError) {
    let total = 0;
    const api = createDispatcher(counterSpec, {
      add: ({ by }) => {
        total += by;
        return { total };
      },
    });
    const hello = createDispatcher(sessionSpec, {
      hello: () => {
        if (refuse) throw refuse;
        return { host: 'counter-host', guest: 1, features: [], leaseMs: 0 };
      },
      ping: () => undefined,
      goodbye: () => undefined,
    });
    const control = createMemoryTransportPair();
    const closed: string[] = [];
    control.server.onDisconnect((reason) => closed.push(reason.message));
    control.server.serve((frame) => {
      const fp = new DataView(frame.buffer, frame.byteOffset).getUint32(8, true);
      return (fp === sessionSpec.fingerprint32 ? hello : api).handle(frame);
    });
    return { control, closed };
  }

  it('connects to an API with no buffers and no data plane with a control transport alone', async () => {
    const host = counterHost();
    const connection = await connect({ spec: counterSpec, control: host.control.client });
    expect(await connection.api.add({ by: 2 })).toEqual({ total: 2 });
    expect(await connection.api.add({ by: 3 })).toEqual({ total: 5 });
    expect(connection.metrics.data).toBeUndefined();
  });

  it('runs its interceptors around every call, the first outermost, and may change a call', async () => {
    const host = counterHost();
    const seen: string[] = [];
    const connection = await connect({
      spec: counterSpec,
      control: host.control.client,
      interceptors: [
        (next) => async (call) => {
          seen.push(`outer ${call.fn.name}`);
          const result = await next(call);
          seen.push(`outer got ${JSON.stringify(result)}`);
          return result;
        },
        (next) => (call) => {
          seen.push(`inner ${JSON.stringify(call.args)}`);
          return next({ ...call, args: { by: 10 } });
        },
      ],
    });
    expect(await connection.api.add({ by: 1 })).toEqual({ total: 10 });
    expect(seen).toEqual(['outer add', 'inner {"by":1}', 'outer got {"total":10}']);
  });

  it('closes its transports when the host refuses the hello', async () => {
    const host = counterHost(new VrdmaError('FINGERPRINT_MISMATCH', 'host serves kv-store v1'));
    await expect(
      connect({ spec: counterSpec, control: host.control.client }),
    ).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    expect(host.closed).toEqual(['the guest closed its transport']);
  });

  it('refuses, before any hello, an API with buffers and no memory, and closes its transports', async () => {
    const control = createMemoryTransportPair();
    const data = createMemoryTransportPair();
    const hellos: number[] = [];
    control.server.serve(() => {
      hellos.push(1);
      return new Uint8Array(0);
    });
    await expect(
      connect({ spec: unimemSpec, control: control.client, data: data.client }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /connect with a memory region/ });
    expect(hellos).toEqual([]);
    await expect(
      control.client.call(new Uint8Array(12), {
        fn: unimemSpec.lookup('open')!,
        callId: 1,
      }),
    ).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});

import { VrdmaError } from '@vrdma/api-spec';
import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from './host.js';
import type { HostInterceptor } from './interceptor.js';
import { service } from './service.js';
import { codeOf } from './testing/code-of.js';
import { inProcessGuest } from './testing/in-process.js';

let cluster: MockCluster;
let host: Host;

function start(interceptors: HostInterceptor[]): Host {
  cluster = createMockCluster();
  host = createHost({ services: [service(unimemSpec, cluster.engine(0))], interceptors });
  return host;
}

afterEach(async () => {
  await host?.close();
});

describe('a host’s own interceptors', () => {
  it('see every call of every guest: who, which function, and the arguments as the guest sent them', async () => {
    const seen: unknown[] = [];
    start([
      (next) => (call) => {
        seen.push({ guest: call.guest, fn: call.fn.name, args: call.args });
        return next(call);
      },
    ]);
    const a = await inProcessGuest(host, { label: 'a' });
    const b = await inProcessGuest(host, { label: 'b' });
    const { buffer } = await a.device.alloc({ size: 64 });
    await a.device.free({ buffer });
    await b.device.query();

    const a1 = { id: a.attached.id, label: 'a' };
    const b1 = { id: b.attached.id, label: 'b' };
    expect(seen).toEqual([
      { guest: a1, fn: 'open', args: {} },
      { guest: b1, fn: 'open', args: {} },
      { guest: a1, fn: 'alloc', args: { size: 64 } },
      // The guest's own handle: the engine's is the host's business, and comes later.
      { guest: a1, fn: 'free', args: { buffer } },
      { guest: b1, fn: 'query', args: {} },
    ]);
    expect(cluster.log.calls('free').map((r) => r.args)).toEqual([{ buffer: 1 }]);
  });

  it('may refuse a call with an error of their own, which reaches the guest and spares the engine', async () => {
    start([
      (next) => (call) => {
        const { size } = call.args as { size?: number };
        if (call.fn.name === 'alloc' && size !== undefined && size > 1024)
          throw new VrdmaError('TOO_LONG', `${call.guest.label}: buffers here are 1 KiB at most`);
        if (call.fn.name === 'openChannel') throw new VrdmaError('NO_CHANNELS', 'not on this host');
        return next(call);
      },
    ]);
    const g = await inProcessGuest(host, { label: 'tenant' });
    await expect(g.device.alloc({ size: 2048 })).rejects.toMatchObject({
      code: 'TOO_LONG',
      message: 'tenant: buffers here are 1 KiB at most',
    });
    expect(cluster.log.calls('alloc')).toEqual([]);
    expect(await codeOf(g.device.alloc({ size: 1024 }))).toBeUndefined();
    // A code the function does not declare reaches the guest as INTERNAL, naming it.
    await expect(g.device.openChannel()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'openChannel failed with undeclared code NO_CHANNELS: not on this host',
    });
    expect(cluster.log.calls('openChannel')).toEqual([]);
  });
});

describe('a guest’s interceptors', () => {
  it('run on the guest around each call, before and after the host’s run for it', async () => {
    const order: string[] = [];
    start([
      (next) => (call) => {
        order.push(`host ${call.fn.name} ${JSON.stringify(call.args)}`);
        return next(call);
      },
    ]);
    await inProcessGuest(host, {
      interceptors: [
        (next) => async (call) => {
          order.push(`guest ${call.fn.name} ${JSON.stringify(call.args ?? {})}`);
          const result = await next(call);
          order.push(`guest got ${call.fn.name}`);
          return result;
        },
      ],
    }).then((g) => g.device.alloc({ size: 64 }));
    expect(order).toEqual([
      'guest open {}',
      'host open {}',
      'guest got open',
      'guest alloc {"size":64}',
      'host alloc {"size":64}',
      'guest got alloc',
    ]);
  });
});

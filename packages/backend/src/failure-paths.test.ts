import { createMemoryTransportPair, VrdmaError } from '@vrdma/api-spec';
import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { connect } from '@vrdma/frontend';
import { createSharedRegion } from '@vrdma/memory';
import { type UnimemEngine, type UnimemSession, unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FairScheduler } from './fair-scheduler.js';
import { createHost, type Host, type HostOptions } from './host.js';
import type { HostInterceptor } from './interceptor.js';
import { service } from './service.js';
import { codeOf } from './testing/code-of.js';
import { failing, overridingSessions } from './testing/engine-wrappers.js';
import { inProcessGuest } from './testing/in-process.js';

let cluster: MockCluster;
let host: Host;

/** A host on a mock engine whose sessions for `label` have functions replaced by `override`. */
function start(
  label: string,
  override: (session: UnimemSession) => Partial<UnimemSession>,
  options: Omit<HostOptions, 'services'> = {},
): Host {
  cluster = createMockCluster();
  const engine = overridingSessions(cluster.engine(0), (session, opened) =>
    opened.label === label ? override(session) : {},
  );
  host = createHost({ services: [service(unimemSpec, engine)], ...options });
  return host;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await host?.close();
});

describe('a departing guest whose engine fails to release what it holds', () => {
  it('is forgotten by the host all the same: its record says what failed, its handles and keys are no one’s', async () => {
    start('doomed', () => ({
      revoke: failing('revoke'),
      closeChannel: failing('closeChannel'),
      free: failing('free'),
      dispose: failing('dispose'),
    }));
    const doomed = await inProcessGuest(host, { label: 'doomed' });
    const { buffer } = await doomed.device.alloc({ size: 256 });
    const { key } = await doomed.device.exportBuffer({ buffer, access: 'read' });
    const { channel } = await doomed.device.openChannel();

    await doomed.crash();
    const departed = await doomed.attached.departed;
    // The record shows what the engine never confirmed released, released in the spec's order.
    expect(departed.ledger).toEqual({
      held: { Buffer: 1, Channel: 1, Key: 1 },
      bytes: 256,
      calls: 0,
      memory: 0,
    });
    expect(departed.reason).toBe('the guest closed its transport');
    expect(
      host.audit.list({ guest: doomed.attached.id, kind: 'detach' }).map((r) => r.message),
    ).toEqual([
      'cleanup failed: Error: revoke failed',
      'cleanup failed: Error: closeChannel failed',
      'cleanup failed: Error: free failed',
      'cleanup failed: Error: dispose failed',
      'the guest closed its transport',
    ]);
    expect(host.guests()).toEqual([]);

    // The host's tables kept nothing: naming the departed guest's objects is a plain mistake,
    // not a reach for another guest's (which the host would refuse as isolation, and audit).
    const heir = await inProcessGuest(host, { label: 'heir' });
    expect(await codeOf(heir.device.free({ buffer }))).toBe('BAD_HANDLE');
    expect(await codeOf(heir.device.closeChannel({ channel }))).toBe('BAD_HANDLE');
    expect(await codeOf(heir.device.revoke({ key }))).toBe('BAD_KEY');
    expect(host.audit.list({ kind: 'isolation' })).toEqual([]);
    expect(host.guests().map((g) => [g.label, g.ledger])).toEqual([
      ['heir', { held: {}, bytes: 0, calls: 0, memory: 8 << 20 }],
    ]);
  });

  it('records a failed session disposal even when every object was released', async () => {
    start('doomed', () => ({ dispose: failing('dispose') }));
    const doomed = await inProcessGuest(host, { label: 'doomed' });
    await doomed.device.alloc({ size: 64 });
    await doomed.device.openChannel();

    await doomed.crash();
    expect((await doomed.attached.departed).ledger).toEqual({
      held: {},
      bytes: 0,
      calls: 0,
      memory: 0,
    });
    expect(
      host.audit.list({ guest: doomed.attached.id, kind: 'detach' }).map((r) => r.message),
    ).toEqual(['cleanup failed: Error: dispose failed', 'the guest closed its transport']);
  });
});

describe('a guest whose engine session cannot be opened', () => {
  it('gets INTERNAL naming the API for its hello, and leaves nothing behind', async () => {
    cluster = createMockCluster();
    const real = cluster.engine(0);
    const engine: UnimemEngine = {
      node: real.node,
      openSession(options = {}) {
        if (options.label === 'unlucky') throw new Error('no contexts left on the device');
        return real.openSession(options);
      },
    };
    const addFlow = vi.spyOn(FairScheduler.prototype, 'addFlow');
    host = createHost({ services: [service(unimemSpec, engine)] });
    const earlier = await inProcessGuest(host, { label: 'earlier' });

    const control = createMemoryTransportPair();
    const data = createMemoryTransportPair();
    const memory = createSharedRegion(77, 4096);
    const unlucky = host.attach({
      label: 'unlucky',
      control: control.server,
      data: data.server,
      memory,
    });
    const refusal = await connect({
      spec: unimemSpec,
      control: control.client,
      data: data.client,
      memory,
    }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(VrdmaError);
    expect(refusal).toMatchObject({
      code: 'INTERNAL',
      message: 'the unimem engine refused a session',
      cause: 'Error: no contexts left on the device',
    });

    // connect closed its transports on the refusal: the host let the guest go, holding nothing,
    // and never gave it a place in the scheduler.
    const departed = await unlucky.departed;
    expect(departed).toMatchObject({
      api: undefined,
      ledger: { held: {}, bytes: 0, calls: 0, memory: 0 },
    });
    expect(host.audit.list({ guest: unlucky.id }).map((r) => r.kind)).toEqual(['attach', 'detach']);
    expect(addFlow.mock.calls.map(([id]) => id)).toEqual([earlier.attached.id]);
    await unlucky.detach(); // already gone: nothing more to do

    expect(host.guests().map((g) => g.label)).toEqual(['earlier']);
    expect(await codeOf(earlier.device.query())).toBeUndefined();
    const later = await inProcessGuest(host, { label: 'later' });
    expect(await codeOf(later.device.alloc({ size: 64 }))).toBeUndefined();
    expect(addFlow.mock.calls.map(([id]) => id)).toEqual([earlier.attached.id, later.attached.id]);
  });
});

describe('a call that finishes after its guest left', () => {
  /** A promise, and the function that resolves it. */
  function signal<T = void>() {
    let fire!: (value: T) => void;
    const fired = new Promise<T>((resolve) => {
      fire = resolve;
    });
    return { fire, fired };
  }

  it('gives the departed guest nothing: no one owns the key the engine handed out too late', async () => {
    const exported = signal<number>();
    const gate = signal();
    // How the host ended the exportBuffer, once it is done with it (after isolation).
    const ended = signal<string>();
    const watch: HostInterceptor = (next) => async (call) => {
      if (call.fn.name !== 'exportBuffer') return next(call);
      return next(call).then(
        (result) => {
          ended.fire('ok');
          return result;
        },
        (error: unknown) => {
          ended.fire(VrdmaError.from(error).code);
          throw error;
        },
      );
    };
    start(
      'slow',
      (session) => ({
        exportBuffer: async (args) => {
          const result = await session.exportBuffer(args);
          exported.fire(result.key);
          await gate.fired;
          return result;
        },
      }),
      { interceptors: [watch] },
    );
    const slow = await inProcessGuest(host, { label: 'slow' });
    const { buffer } = await slow.device.alloc({ size: 64 });
    const late = slow.device.exportBuffer({ buffer, access: 'read' });
    const key = await exported.fired;
    await slow.crash();
    await expect(late).rejects.toMatchObject({ code: 'DISCONNECTED' });
    // The call was still under way when the guest left; the engine's disposal revoked its key.
    expect((await slow.attached.departed).ledger).toEqual({
      held: {},
      bytes: 0,
      calls: 1,
      memory: 0,
    });

    gate.fire();
    expect(await ended.fired).toBe('DISCONNECTED');
    const heir = await inProcessGuest(host, { label: 'heir' });
    expect(await codeOf(heir.device.revoke({ key }))).toBe('BAD_KEY');
    expect(host.audit.list({ kind: 'isolation' })).toEqual([]);
  });
});

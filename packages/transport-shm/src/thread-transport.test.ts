import type { VrdmaError } from '@vrdma/api-spec';
import { afterEach, describe, expect, it } from 'vitest';
import { testHandler } from './test-fixtures/host-handler.js';
import { spawnThreadGuest, type TestGuest } from './test-fixtures/spawn-thread-guest.js';
import { within } from './test-fixtures/within.js';

const guests: TestGuest[] = [];
afterEach(async () => {
  for (const guest of guests.splice(0)) {
    await guest.connection.transport.close();
    await guest.worker.terminate();
  }
});

async function serveGuest(options: Parameters<typeof spawnThreadGuest>[0] = {}) {
  const guest = await spawnThreadGuest(options);
  guests.push(guest);
  const seen: number[] = [];
  // `hung` resolves once the host holds a call it will never answer (a guest's `hang`).
  const hung = new Promise<void>((resolve) =>
    guest.connection.transport.serve(testHandler(guest.connection.regions, seen, resolve)),
  );
  return { guest, seen, hung };
}

/** Every disconnect the host reports for this guest, and the first one. */
function disconnectsOf(guest: TestGuest) {
  const reasons: VrdmaError[] = [];
  const first = new Promise<VrdmaError>((resolve) =>
    guest.connection.transport.onDisconnect((reason) => {
      reasons.push(reason);
      resolve(reason);
    }),
  );
  return { reasons, first };
}

describe('transport-shm across a worker thread', () => {
  it('carries round trips, one at a time and many in flight', async () => {
    const { guest } = await serveGuest();
    expect(await guest.run({ cmd: 'calls', count: 200, window: 1 })).toMatchObject({ ok: true });
    expect(await guest.run({ cmd: 'calls', count: 2000, window: 32 })).toMatchObject({ ok: true });
    expect(guest.connection.transport.metrics.messages).toBe(2200);
  });

  it('wraps around a small ring for many laps, across the 2^32 index wrap', async () => {
    const { guest, seen } = await serveGuest({
      shape: { slotCount: 4, slotSize: 64 },
      startIndex: 0xffff_ff00,
    });
    // 5000 calls through 4 slots: 1250 laps, the indices crossing 2^32 on the way.
    expect(await guest.run({ cmd: 'calls', count: 5000, window: 3 })).toMatchObject({ ok: true });
    expect(seen).toHaveLength(5000);
  });

  it('holds back a fast producer on a full ring: nothing lost, order kept', async () => {
    const { guest, seen } = await serveGuest({ shape: { slotCount: 2, slotSize: 64 } });
    // 3000 calls issued at once into 2 slots: the guest queues them and the host's replies
    // back up too; every call arrives once, in issue order.
    const report = await guest.run({ cmd: 'calls', count: 3000, window: 3000 });
    expect(report).toMatchObject({ ok: true });
    expect(seen).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('shares buffers without copies: each side sees what the other wrote', async () => {
    const { guest } = await serveGuest();
    expect(guest.connection.regions.ids).toEqual([7]);
    const report = await guest.run({ cmd: 'zero-copy', length: 10_000 });
    expect(report.detail).toBe("host saw the guest's bytes: true; guest sees the host's: true");
    expect(report.ok).toBe(true);
  });

  it('reports a guest terminated mid-call as DISCONNECTED, by its exit, and keeps serving others', async () => {
    const { guest: doomed, hung } = await serveGuest();
    const disconnects = disconnectsOf(doomed);
    // The command never reports: its guest dies with the call in flight at the host.
    doomed.run({ cmd: 'hang' }).catch(() => {});
    await hung;
    await doomed.worker.terminate();
    // The worker's exit event is the disconnect: no timer is involved, so any bound only
    // turns a missed exit into a clear failure (this one leaves a machine ten times slower
    // than ours ample room).
    const reason = await within(disconnects.first, 10_000, 'no disconnect');
    expect(reason.code).toBe('DISCONNECTED');
    expect(reason.message).toMatch(/guest thread exited/);
    expect(disconnects.reasons).toHaveLength(1);

    const { guest: survivor } = await serveGuest();
    expect(await survivor.run({ cmd: 'calls', count: 50, window: 4 })).toMatchObject({ ok: true });
    expect(disconnects.reasons).toHaveLength(1);
  });

  it('fails the pending calls of a guest whose host detaches', async () => {
    const { guest, hung } = await serveGuest();
    const result = guest.run({ cmd: 'hang' });
    await hung; // the call is pending at the host
    await guest.connection.transport.close();
    expect(await result).toMatchObject({ ok: true, detail: 'the host detached this guest' });
  });
});

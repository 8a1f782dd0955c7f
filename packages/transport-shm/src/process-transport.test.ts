import type { VrdmaError } from '@vrdma/api-spec';
import { afterEach, describe, expect, it } from 'vitest';
import { testHandler } from './test-fixtures/host-handler.js';
import {
  GUEST_REGION,
  spawnProcessGuest,
  type TestProcessGuest,
} from './test-fixtures/spawn-process-guest.js';
import { within } from './test-fixtures/within.js';
import type { ChannelOptions } from './thread-host.js';

const guests: TestProcessGuest[] = [];
afterEach(async () => {
  await Promise.all(guests.splice(0).map((guest) => guest.stop()));
});

/** A guest process whose channel and region came as descriptors, served by the test handler. */
async function serveGuest(options: ChannelOptions = {}) {
  const guest = await spawnProcessGuest(options);
  guests.push(guest);
  const seen: number[] = [];
  // `hung` resolves once the host holds a call it will never answer (a guest's `hang`).
  const hung = new Promise<void>((resolve) =>
    guest.connection.transport.serve(testHandler(guest.connection.regions, seen, resolve)),
  );
  return { guest, seen, hung };
}

describe('transport-shm across a child process, its memory passed as descriptors', () => {
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
    expect(await guest.run({ cmd: 'calls', count: 5000, window: 3 })).toMatchObject({ ok: true });
    expect(seen).toHaveLength(5000);
  });

  it('holds back a fast producer on a full ring: nothing lost, order kept', async () => {
    const { guest, seen } = await serveGuest({ shape: { slotCount: 2, slotSize: 64 } });
    const report = await guest.run({ cmd: 'calls', count: 3000, window: 3000 });
    expect(report).toMatchObject({ ok: true });
    expect(seen).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('shares buffers without copies: each side sees what the other wrote', async () => {
    const { guest } = await serveGuest();
    expect(guest.connection.regions.ids).toEqual([GUEST_REGION.id]);
    const report = await guest.run({ cmd: 'zero-copy', length: 10_000 });
    expect(report.detail).toBe("host saw the guest's bytes: true; guest sees the host's: true");
  });

  it('reports a guest SIGKILLed mid-call as DISCONNECTED, by its socket closing, and serves a new guest', async () => {
    const { guest: doomed, hung } = await serveGuest();
    const reasons: VrdmaError[] = [];
    const disconnected = new Promise<VrdmaError>((resolve) =>
      doomed.connection.transport.onDisconnect((reason) => {
        reasons.push(reason);
        resolve(reason);
      }),
    );
    // The command never reports: its guest dies with the call in flight at the host.
    doomed.run({ cmd: 'hang' }).catch(() => {});
    await hung;
    doomed.child.kill('SIGKILL');
    // The kernel closes a killed process's socket and that close is the disconnect: no timer
    // is involved, so the bound only turns a missed close into a clear failure (it leaves a
    // machine ten times slower than ours ample room).
    const reason = await within(disconnected, 10_000, 'no disconnect');
    expect(reason.code).toBe('DISCONNECTED');
    expect(reason.message).toMatch(/guest process closed its connection/);
    expect(reasons).toHaveLength(1);
    expect(doomed.connection.regions.ids).toEqual([]);

    const { guest: survivor } = await serveGuest();
    expect(await survivor.run({ cmd: 'calls', count: 50, window: 4 })).toMatchObject({ ok: true });
    expect(reasons).toHaveLength(1);
  });

  it('fails the pending calls of a guest whose host detaches it', async () => {
    const { guest, hung } = await serveGuest();
    const result = guest.run({ cmd: 'hang' });
    await hung; // the call is pending at the host
    await guest.connection.transport.close();
    expect(await result).toMatchObject({ ok: true, detail: 'the host closed the connection' });
  });

  it('cuts off a guest that corrupts its ring with TRANSPORT, and keeps serving another', async () => {
    const { guest: hostile } = await serveGuest();
    const { guest: good } = await serveGuest();
    const broken = new Promise<VrdmaError>((resolve) =>
      hostile.connection.transport.onDisconnect(resolve),
    );
    await hostile.run({ cmd: 'corrupt', garbage: [0, 7, 0xff, 0x02] });
    const reason = await within(broken, 10_000, 'no verdict on the corrupted ring');
    expect(reason.code).toBe('TRANSPORT');
    expect(reason.message).toMatch(/ring broken: producer index 1000/);
    expect(await good.run({ cmd: 'calls', count: 100, window: 8 })).toMatchObject({ ok: true });
    expect(good.connection.transport.disconnected).toBeUndefined();
  });
});

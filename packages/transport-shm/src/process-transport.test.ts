import { createConnection } from 'node:net';
import type { VrdmaError } from '@vrdma/api-spec';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessHostOptions } from './process-host.js';
import { testHandler } from './test-fixtures/host-handler.js';
import { startTestProcessHost, type TestProcessHost } from './test-fixtures/spawn-process-guest.js';
import { within } from './test-fixtures/within.js';

let current: TestProcessHost | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function serveGuest(options: ProcessHostOptions = {}) {
  current ??= await startTestProcessHost(options);
  const guest = await current.spawnGuest();
  const seen: number[] = [];
  // `hung` resolves once the host holds a call it will never answer (a guest's `hang`).
  const hung = new Promise<void>((resolve) =>
    guest.connection.transport.serve(testHandler(guest.connection.regions, seen, resolve)),
  );
  return { guest, seen, hung };
}

describe('transport-shm across a child process', () => {
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
    expect(guest.connection.regions.ids).toEqual([7]);
    const report = await guest.run({ cmd: 'zero-copy', length: 10_000 });
    expect(report.detail).toBe("host saw the guest's bytes: true; guest sees the host's: true");
  });

  it('reports a guest SIGKILLed mid-call as DISCONNECTED, by its socket closing, and keeps serving others', async () => {
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

  it('drops a client that speaks garbage on the socket and keeps serving guests', async () => {
    current = await startTestProcessHost();
    const socket = createConnection(current.host.path);
    await new Promise<void>((resolve) => {
      socket.on('connect', () => socket.write(Uint8Array.of(0x02, 0xff, 0xff, 0xff, 0xff, 7)));
      socket.on('error', () => {});
      socket.on('close', () => resolve());
    });
    const { guest } = await serveGuest();
    expect(await guest.run({ cmd: 'calls', count: 20, window: 2 })).toMatchObject({ ok: true });
  });
});

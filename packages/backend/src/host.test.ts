import { createMemoryTransportPair, createStub, isVrdmaError, sessionSpec } from '@vrdma/api-spec';
import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { connect } from '@vrdma/frontend';
import { createSharedRegion } from '@vrdma/memory';
import {
  type GlobalAddress,
  type UnimemEngine,
  type UnimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHost, type Host, type HostOptions } from './host.js';
import type { DepartedGuest } from './served-guest.js';
import { service } from './service.js';
import { pingPongApp } from './testing/app.js';
import { type InProcessGuest, inProcessGuest } from './testing/in-process.js';

let cluster: MockCluster;
let host: Host;

function start(config: HostOptions['config'] = {}): Host {
  cluster = createMockCluster({ nodes: [0, 1] });
  host = createHost({ services: [service(unimemSpec, cluster.engine(0))], config });
  return host;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isVrdmaError(error) ? error.code : `not a VrdmaError: ${String(error)}`;
  }
}

/** A buffer on node 1, exported to anyone, as a remote peer would offer it. */
async function remotePeer(size: number) {
  const peer = cluster.engine(1).openSession({ label: 'peer' });
  await peer.open();
  const buffer = await peer.alloc({ size });
  const { key, address } = await peer.exportBuffer({ buffer: buffer.buffer, access: 'read-write' });
  return { peer, buffer, key, address: address as GlobalAddress };
}

afterEach(async () => {
  await host?.close();
});

describe('transparency', () => {
  it('runs the same application natively and remoted, with the same result', async () => {
    start();
    const target = await remotePeer(4096);
    const native = cluster.engine(0).openSession({ label: 'native' });
    await native.open();
    const nativeResult = await pingPongApp(native, target, 4096);
    target.peer.view(target.buffer.ref).fill(0);
    const guest = await inProcessGuest(host, { label: 'remoted' });
    const remotedResult = await pingPongApp(guest.device, target, 4096);
    expect(remotedResult).toEqual(nativeResult);
    expect(nativeResult.statuses).toEqual(['write:ok', 'read:ok']);
    expect(nativeResult.roundTrip).toEqual([7, 20, 33, 46, 59, 72, 85, 98]);
  });

  it('allocates guest buffers in the guest’s own region: the host writes, the guest sees the same memory', async () => {
    start();
    const guest = await inProcessGuest(host);
    const source = await remotePeer(64);
    const mine = await guest.device.alloc({ size: 64 });
    expect(mine.ref.region).toBe(guest.memory.id);
    const before = guest.device.view(mine.ref);
    expect(before.buffer).toBe(guest.memory.bytes.buffer);
    source.peer.view(source.buffer.ref).fill(0x5c);
    const { channel } = await guest.device.openChannel();
    await guest.device.read({
      channel,
      local: mine.ref,
      remote: source.address,
      key: source.key,
    });
    expect((await guest.device.wait({ channel })).completions[0]?.status).toBe('ok');
    expect(before.every((b) => b === 0x5c)).toBe(true);
  });
});

describe('handshake', () => {
  it('refuses calls before hello, and a guest built against another spec, naming both fingerprints', async () => {
    start();
    const control = createMemoryTransportPair();
    const data = createMemoryTransportPair();
    host.attach({
      control: control.server,
      data: data.server,
      memory: createSharedRegion(1, 4096),
    });
    const raw = createStub((await import('@vrdma/unimem-api')).unimemSpec, control.client);
    expect(await codeOf(raw.query())).toBe('TRANSPORT');
    const session = createStub(sessionSpec, control.client);
    const wrong = 'ab'.repeat(32);
    const error = await session
      .hello({ api: 'unimem', version: 9, fingerprint: wrong })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    expect((error as Error).message).toContain('abababab');
    expect((error as Error).message).toMatch(/host serves unimem v1 \([0-9a-f]{8}\)/);
  });

  it('fails with TIMEOUT when no host answers', async () => {
    start();
    const control = createMemoryTransportPair();
    const data = createMemoryTransportPair();
    const error = await connect({
      spec: unimemSpec,
      control: control.client,
      data: data.client,
      memory: createSharedRegion(1, 64),
      timeoutMs: 30,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT', message: 'no host answered within 30 ms' });
  });
});

describe('isolation', () => {
  it('refuses every attempt on another guest’s objects, logs it, and allows RDMA only through keys', async () => {
    start();
    const a = await inProcessGuest(host, { label: 'a' });
    const b = await inProcessGuest(host, { label: 'b' });
    const bufferA = await a.device.alloc({ size: 128 });
    const { channel: channelA } = await a.device.openChannel();
    const { key: keyA, address: addressA } = await a.device.exportBuffer({
      buffer: bufferA.buffer,
      access: 'write',
    });
    const { channel: channelB } = await b.device.openChannel();
    const bufferB = await b.device.alloc({ size: 128 });

    expect(await codeOf(b.device.free({ buffer: bufferA.buffer }))).toBe('BAD_HANDLE');
    expect(await codeOf(b.device.exportBuffer({ buffer: bufferA.buffer, access: 'read' }))).toBe(
      'BAD_HANDLE',
    );
    expect(await codeOf(b.device.closeChannel({ channel: channelA }))).toBe('BAD_HANDLE');
    expect(await codeOf(b.device.poll({ channel: channelA }))).toBe('BAD_HANDLE');
    expect(await codeOf(b.device.revoke({ key: keyA }))).toBe('BAD_KEY');
    const foreignRef = { ...bufferA.ref };
    expect(
      await codeOf(
        b.device.write({ channel: channelB, local: foreignRef, remote: addressA, key: keyA }),
      ),
    ).toBe('OUT_OF_RANGE');
    expect(host.audit.list({ guest: b.attached.id, kind: 'isolation' })).toHaveLength(6);
    expect(host.audit.list({ guest: a.attached.id, kind: 'isolation' })).toHaveLength(0);

    b.device.view(bufferB.ref).fill(0x42);
    const { transfer } = await b.device.write({
      channel: channelB,
      local: bufferB.ref,
      remote: addressA,
      key: keyA,
    });
    expect((await b.device.wait({ channel: channelB })).completions).toEqual([
      { transfer, status: 'ok', bytes: 128 },
    ]);
    expect(a.device.view(bufferA.ref).every((x) => x === 0x42)).toBe(true);
    expect(await codeOf(a.device.free({ buffer: bufferA.buffer }))).toBeUndefined();
  });
});

describe('quotas', () => {
  it('refuses what would pass each per-guest quota, with QUOTA_EXCEEDED, and counts nothing refused', async () => {
    start({ quotas: { kinds: { Buffer: 2, Channel: 1, Key: 1 }, bytes: 1000, calls: 2 } });
    const g = await inProcessGuest(host);
    const first = await g.device.alloc({ size: 600 });
    expect(await codeOf(g.device.alloc({ size: 500 }))).toBe('QUOTA_EXCEEDED');
    const second = await g.device.alloc({ size: 400 });
    expect(await codeOf(g.device.alloc({ size: 1 }))).toBe('QUOTA_EXCEEDED');
    const { key, address } = await g.device.exportBuffer({
      buffer: second.buffer,
      access: 'write',
    });
    expect(await codeOf(g.device.exportBuffer({ buffer: first.buffer, access: 'write' }))).toBe(
      'QUOTA_EXCEEDED',
    );
    const { channel } = await g.device.openChannel({ depth: 8 });
    expect(await codeOf(g.device.openChannel())).toBe('QUOTA_EXCEEDED');
    // Two waits with nothing to reap hold the guest's two calls in flight: a third call waits
    // for nothing, it is refused; once the waits end, calls go through again.
    const waits = [
      g.device.wait({ channel, timeoutMs: 200 }),
      g.device.wait({ channel, timeoutMs: 200 }),
    ];
    expect(await codeOf(g.device.query())).toBe('QUOTA_EXCEEDED');
    expect((await Promise.all(waits)).map((w) => w.completions)).toEqual([[], []]);
    const local = { ...first.ref, length: 400 };
    await g.device.write({ channel, local, remote: address, key });
    expect(host.guests()[0]!.ledger).toEqual({
      held: { Buffer: 2, Channel: 1, Key: 1 },
      bytes: 1000,
      calls: 0,
      memory: 8 << 20,
    });
    expect(host.audit.list({ kind: 'quota' })).toHaveLength(5);
  });
});

describe('fairness', () => {
  /** The engine, with the label of every session's write noted in the order it is posted. */
  function recordingWrites(engine: UnimemEngine, posts: string[]): UnimemEngine {
    return {
      node: engine.node,
      openSession(options) {
        const session = engine.openSession(options);
        const write: UnimemSession['write'] = (...args) => {
          posts.push(options?.label ?? '');
          return session.write(...args);
        };
        return new Proxy(session, {
          get: (target, property) => {
            if (property === 'write') return write;
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    };
  }

  /**
   * Two guests posting 256 KiB writes (one quantum each) as fast as they can, one with 8x the
   * pipeline. Returns the order in which the engine took their writes while both kept posting
   * (both backlogged): from the first write of the later one (if it ever got one) to the
   * moment they stop.
   */
  async function race(weights: { flood: number; calm: number }): Promise<string[]> {
    cluster = createMockCluster({ nodes: [0, 1] });
    const posts: string[] = [];
    host = createHost({
      services: [service(unimemSpec, recordingWrites(cluster.engine(0), posts))],
      config: {
        quantumBytes: 256 * 1024,
        // One event-loop turn per round, so that the guests' next writes (sent by microtasks
        // between turns) are there for every round: the order then shows the rounds themselves.
        turnBytes: 1,
        weights: { flood: weights.flood, calm: weights.calm },
      },
    });
    const target = await remotePeer(256 * 1024);
    const guests = {
      flood: await inProcessGuest(host, { label: 'flood' }),
      calm: await inProcessGuest(host, { label: 'calm' }),
    };
    const done = { flood: 0, calm: 0 };
    let stoppedAt: number | undefined;
    const pump = async (name: 'flood' | 'calm', lanes: number) => {
      const { device } = guests[name];
      const buffer = await device.alloc({ size: 256 * 1024 });
      const { channel } = await device.openChannel({ depth: 2 * lanes + 16 });
      const lane = async () => {
        while (stoppedAt === undefined) {
          await device.write({
            channel,
            local: buffer.ref,
            remote: target.address,
            key: target.key,
          });
          done[name] += 1;
          if (done.flood + done.calm >= 600) stoppedAt ??= posts.length;
          await device.poll({ channel });
        }
      };
      await Promise.all(Array.from({ length: lanes }, lane));
    };
    await Promise.all([pump('flood', 32), pump('calm', 4)]);
    const untilStop = posts.slice(0, stoppedAt);
    return untilStop.slice(Math.max(untilStop.indexOf('flood'), untilStop.indexOf('calm'), 0));
  }

  /**
   * How far one guest ever got ahead of the other, in writes per unit of weight, over every
   * prefix of `posts`. Deficit round robin bounds it by one quantum (here one write).
   */
  function largestLead(posts: string[], weights: { flood: number; calm: number }): number {
    const served = { flood: 0, calm: 0 };
    let lead = 0;
    for (const label of posts) {
      served[label as 'flood' | 'calm'] += 1;
      lead = Math.max(lead, Math.abs(served.flood / weights.flood - served.calm / weights.calm));
    }
    return lead;
  }

  const initials = (posts: string[]) => posts.map((label) => label[0]).join('');

  it('keeps a flooding guest from starving another: equal weights, one write each per round', async () => {
    const weights = { flood: 1, calm: 1 };
    const posts = await race(weights);
    expect(posts.length).toBeGreaterThan(500);
    expect(new Set(posts)).toEqual(new Set(['flood', 'calm']));
    // Its 8x pipeline never puts the flooding guest more than one write ahead.
    expect(largestLead(posts, weights), initials(posts)).toBeLessThanOrEqual(1);
  });

  it('gives shares in proportion to weights: three writes of the weight-3 guest per round', async () => {
    const weights = { flood: 1, calm: 3 };
    const posts = await race(weights);
    expect(posts.length).toBeGreaterThan(500);
    expect(largestLead(posts, weights), initials(posts)).toBeLessThanOrEqual(1);
  });
});

describe('cleanup', () => {
  it('records a goodbye as why the guest left, though its transports drop before the detach', async () => {
    start();
    const guest = await inProcessGuest(host, { label: 'leaver' });
    // dispose() says goodbye and closes its transports as soon as the reply is in: the host
    // notices the transports closing before its own detach for the goodbye has run.
    await guest.device.dispose();
    const departed = await guest.attached.departed;
    expect(departed.reason).toBe('the guest said goodbye');
    expect(departed.ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 0 });
  });

  it('releases everything of a guest that crashes mid-transfer; other guests finish with correct data', async () => {
    start();
    cluster.faults.delayCompletions(20);
    const target = await remotePeer(64 * 1024);
    const victim = await inProcessGuest(host, { label: 'victim' });
    const survivor = await inProcessGuest(host, { label: 'survivor' });

    const v = await victim.device.alloc({ size: 64 * 1024 });
    await victim.device.exportBuffer({ buffer: v.buffer, access: 'read' });
    const { channel: vc } = await victim.device.openChannel();
    await victim.device.write({
      channel: vc,
      local: v.ref,
      remote: target.address,
      key: target.key,
    });

    const s = await survivor.device.alloc({ size: 64 * 1024 });
    for (let i = 0; i < s.ref.length; i++) survivor.device.view(s.ref)[i] = i & 0xff;
    const { channel: sc } = await survivor.device.openChannel();
    const { transfer } = await survivor.device.write({
      channel: sc,
      local: s.ref,
      remote: target.address,
      key: target.key,
    });

    await victim.crash();
    const departed = await victim.attached.departed;
    expect(departed.ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 0 });
    expect(departed.reason).toMatch(/closed/);

    expect((await survivor.device.wait({ channel: sc, timeoutMs: 2_000 })).completions).toEqual([
      { transfer, status: 'ok', bytes: 65536 },
    ]);
    const landed = target.peer.view(target.buffer.ref);
    expect(landed.every((x, i) => x === (i & 0xff))).toBe(true);

    // The engine released the victim's memory too: a new guest on that region gets all of it.
    cluster.faults.clear();
    const heir = await inProcessGuest(host, { memory: victim.memory });
    expect((await heir.device.alloc({ size: victim.memory.size })).ref.offset).toBe(0);
  });

  it('releases everything when a guest says goodbye', async () => {
    start();
    const g = await inProcessGuest(host);
    await g.device.alloc({ size: 100 });
    await g.device.openChannel();
    await g.device.dispose();
    expect((await g.attached.departed).ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 0 });
    expect(host.guests()).toEqual([]);
  });

  it('detaches a guest that stops answering once its lease runs out, and only then', async () => {
    // The lease is a matter of the clock: the host's check and the guest's keepalive are
    // interval timers reading Date.now(). Fake exactly those, so the test says what a lease
    // is worth however slowly this machine runs it (real timers fired late by a loaded
    // machine would make even the chatty guest look silent).
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    try {
      start({ leaseMs: 40 });
      const silent = await inProcessGuest(host, { features: [] });
      const chatty = await inProcessGuest(host); // pings every 13 ms
      await silent.device.alloc({ size: 10 }); // the silent guest's last word
      let departed: DepartedGuest | undefined;
      void silent.attached.departed.then((record) => {
        departed = record;
      });

      await vi.advanceTimersByTimeAsync(40);
      expect(departed).toBeUndefined(); // 40 ms of silence is the lease, not more
      expect(host.guests()).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(40);
      expect(departed?.reason).toMatch(/sent nothing for 40 ms/);

      await vi.advanceTimersByTimeAsync(10 * 40);
      expect(host.guests().map((g) => g.id)).toEqual([chatty.attached.id]);
      expect(await codeOf(chatty.device.query())).toBeUndefined();
      await host.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('fails every pending call with a clear error when the host goes away', async () => {
    start();
    cluster.faults.delayCompletions(10_000);
    const g = await inProcessGuest(host);
    const { channel } = await g.device.openChannel();
    const reasons: string[] = [];
    g.device.connection.onDisconnect((reason) => reasons.push(reason.code));
    const pending = g.device.wait({ channel, timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await host.close();
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(g.device.query()).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(reasons).toEqual(['DISCONNECTED']);
  });
});

describe('metrics', () => {
  it('counts calls by function, errors by code, bytes scheduled, doorbells and latencies per guest', async () => {
    start();
    const target = await remotePeer(1000);
    const g: InProcessGuest = await inProcessGuest(host);
    const b = await g.device.alloc({ size: 1000 });
    const { channel } = await g.device.openChannel();
    await g.device.write({ channel, local: b.ref, remote: target.address, key: target.key });
    await g.device.poll({ channel });
    await g.device.free({ buffer: 12345 as never }).catch(() => {});
    const [snapshot] = host.guests();
    expect(snapshot!.metrics.calls).toMatchObject({
      open: 1,
      alloc: 1,
      openChannel: 1,
      write: 1,
      poll: 1,
      free: 1,
    });
    expect(snapshot!.metrics.errors).toEqual({ BAD_HANDLE: 1 });
    expect(snapshot!.metrics.scheduled).toEqual({ bytes: 1000, contendedBytes: 0 });
    expect(snapshot!.metrics.latencyUs.count).toBe(6);
    expect(snapshot!.metrics.latencyUs.p99).toBeGreaterThanOrEqual(snapshot!.metrics.latencyUs.p50);
    expect(snapshot!.metrics.transports.data.messages).toBe(2);
    expect(snapshot!.metrics.transports.control.doorbells).toBeGreaterThan(0);
  });
});

import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createCodec } from './codec.js';
import type { ImplOf } from './define-api.js';
import { createDispatcher } from './dispatcher.js';
import { isVrdmaError, VrdmaError } from './errors.js';
import { decodeFrame, FrameKind } from './frame.js';
import { GuestQueues } from './guest-queues.js';
import type { Handle } from './kinds.js';
import type { Link, QueueLink } from './link.js';
import { createStub } from './stub.js';
import { type QueueSpec, queueSpec } from './test-fixtures/queue-spec.js';

const codec = createCodec(queueSpec);
const putFn = queueSpec.lookup('put')!;
const pollFn = queueSpec.lookup('poll')!;

const timers = new Set<ReturnType<typeof setTimeout>>();
afterEach(() => {
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
});

/**
 * A queue link in memory: posted frames are recorded; completions the test injects wait as
 * if written by the host into the guest's ring, until the guest reaps them.
 */
function fakeQueueLink() {
  const posted: Uint8Array[] = [];
  const written: Uint8Array[] = [];
  const waiters = new Set<() => void>();
  let sink: (frame: Uint8Array) => void = () => {};
  const counts = { reaps: 0, awaits: 0, wakeAfter: [] as (number | undefined)[] };
  /** How the ring takes a post: at once (as it does with room), or after a wait, or not at all. */
  const ring: { takes: 'at once' | 'later' | Error } = { takes: 'at once' };
  const link: QueueLink = {
    post: (frame) => {
      if (ring.takes instanceof Error) return Promise.reject(ring.takes);
      posted.push(frame);
      return ring.takes === 'later' ? new Promise((resolve) => setImmediate(resolve)) : undefined;
    },
    onCompletions: (s) => {
      sink = s;
    },
    reap: () => {
      counts.reaps++;
      for (const frame of written.splice(0)) sink(frame);
    },
    awaitCompletions: (timeoutMs, signal, wakeAfter) =>
      new Promise<void>((resolve) => {
        counts.awaits++;
        counts.wakeAfter.push(wakeAfter);
        const done = () => {
          clearTimeout(timer);
          timers.delete(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        timers.add(timer);
        waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      }),
  };
  /** The host writes completions of `channel` (a Completion frame, the queue's handle as call id). */
  const complete = (channel: number, ids: number[], frame?: Uint8Array) => {
    written.push(
      frame ??
        codec.encodeResult(
          pollFn,
          channel,
          { entries: ids.map((id) => ({ id, status: 'ok', value: id * 10 })) },
          FrameKind.Completion,
        ),
    );
    for (const wake of [...waiters]) wake();
  };
  return { link, posted, complete, counts, ring };
}

/** The host's control side: channels are numbered from 1; every call through it is counted. */
function fakeControl() {
  let next = 1;
  const impl: ImplOf<QueueSpec> = {
    open: ({ depth }) => ({ channel: next++ as Handle<'Channel'>, depth }),
    close: () => undefined,
    openPlain: () => ({ plain: next++ as Handle<'Plain'> }),
    drop: () => undefined,
    shutdown: () => undefined,
    put: () => {
      throw new Error('a posted call must not reach the control link');
    },
    poll: () => {
      throw new Error('a reaping call must not reach the control link');
    },
    wait: () => {
      throw new Error('a reaping call must not reach the control link');
    },
  };
  const dispatcher = createDispatcher(queueSpec, impl);
  const calls: string[] = [];
  const link: Link = {
    call: (request, info) => {
      calls.push(info.fn.name);
      return dispatcher.handle(request);
    },
  };
  return { link, calls };
}

function guest() {
  const queues = fakeQueueLink();
  const control = fakeControl();
  const api = createStub(queueSpec, control.link, { queues: queues.link });
  return { api, ...queues, control: control.calls };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isVrdmaError(error) ? error.code : `not a VrdmaError: ${String(error)}`;
  }
}

describe('posted calls on the guest', () => {
  it('return the token at once, 0, 1, 2 per queue, and post a Post frame with it as call id', async () => {
    const g = guest();
    const a = await g.api.open({ depth: 8 });
    const b = await g.api.open({ depth: 8 });
    expect(g.control).toEqual(['open', 'open']);

    expect(await g.api.put({ channel: a.channel, value: 5 })).toEqual({ id: 0 });
    expect(await g.api.put({ channel: a.channel, value: 6 })).toEqual({ id: 1 });
    expect(await g.api.put({ channel: b.channel, value: 7 })).toEqual({ id: 0 });
    expect(await g.api.put({ channel: a.channel, value: 8 })).toEqual({ id: 2 });

    // Nothing crossed the control link, and nothing waited for a host.
    expect(g.control).toEqual(['open', 'open']);
    const frames = g.posted.map(decodeFrame);
    expect(frames.map((f) => f.kind)).toEqual(Array(4).fill(FrameKind.Post));
    expect(frames.map((f) => f.fnId)).toEqual(Array(4).fill(putFn.id));
    expect(frames.map((f) => f.callId)).toEqual([0, 1, 0, 2]);
    expect(frames.map((f) => f.fingerprint32)).toEqual(Array(4).fill(queueSpec.fingerprint32));
    expect(frames.map((f) => codec.decodeArgs(putFn, f))).toEqual([
      { channel: a.channel, value: 5 },
      { channel: a.channel, value: 6 },
      { channel: b.channel, value: 7 },
      { channel: a.channel, value: 8 },
    ]);
  });

  it('reject invalid arguments with INVALID_ARGUMENT and post nothing', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    expect(await codeOf(g.api.put({ channel, value: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(g.api.put({ channel, value: 2 ** 32 }))).toBe('INVALID_ARGUMENT');
    expect(
      await codeOf(g.api.put({ value: 1 } as unknown as Parameters<typeof g.api.put>[0])),
    ).toBe('INVALID_ARGUMENT');
    expect(g.posted).toHaveLength(0);
    // The failures took no token.
    expect(await g.api.put({ channel, value: 1 })).toEqual({ id: 0 });
  });

  it('reject an unknown queue handle with BAD_HANDLE and post nothing', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    const { plain } = await g.api.openPlain();
    expect(
      await codeOf(g.api.put({ channel: (channel + 100) as Handle<'Channel'>, value: 1 })),
    ).toBe('BAD_HANDLE');
    // A live handle of another kind is no channel.
    expect(
      await codeOf(g.api.put({ channel: plain as number as Handle<'Channel'>, value: 1 })),
    ).toBe('BAD_HANDLE');
    expect(g.posted).toHaveLength(0);
  });

  it('refuse a post over capacity with the capacity refusal, until the app reaps', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 2 });
    await g.api.put({ channel, value: 1 });
    await g.api.put({ channel, value: 2 });
    const full = await g.api.put({ channel, value: 3 }).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(VrdmaError);
    expect(full).toMatchObject({ code: 'FULL' });
    expect(g.posted).toHaveLength(2);

    // A completion the host wrote but the app has not reaped still counts.
    g.complete(channel, [0]);
    expect(await codeOf(g.api.put({ channel, value: 3 }))).toBe('FULL');
    expect(g.posted).toHaveLength(2);

    expect((await g.api.poll({ channel, max: 1 })).entries.map((e) => e.id)).toEqual([0]);
    expect(await g.api.put({ channel, value: 3 })).toEqual({ id: 2 });
    expect(g.posted).toHaveLength(3);
    expect(await codeOf(g.api.put({ channel, value: 4 }))).toBe('FULL');
    expect(g.posted).toHaveLength(3);
  });
});

describe('a posted call and the ring', () => {
  it('resolves with its token whether the ring took it at once or after a wait for room', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    const atOnce = g.api.put({ channel, value: 1 });
    expect(atOnce).toBeInstanceOf(Promise);
    expect(await atOnce).toEqual({ id: 0 });
    g.ring.takes = 'later';
    expect(await g.api.put({ channel, value: 2 })).toEqual({ id: 1 });
    expect(g.posted).toHaveLength(2);
  });

  it('fails with what the ring failed with, and leaves no capacity taken', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 1 });
    g.ring.takes = new VrdmaError('DISCONNECTED', 'the host is gone');
    expect(await codeOf(g.api.put({ channel, value: 1 }))).toBe('DISCONNECTED');
    g.ring.takes = 'at once';
    // The one slot of the queue is free again: the failed post holds nothing.
    expect(await codeOf(g.api.put({ channel, value: 2 }))).toBeUndefined();
    expect(await codeOf(g.api.put({ channel, value: 3 }))).toBe('FULL');
  });
});

describe('reaping on the guest', () => {
  it('poll returns what the host wrote, at most max, with no control call', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    for (let i = 0; i < 3; i++) await g.api.put({ channel, value: i });
    const before = [...g.control];

    expect((await g.api.poll({ channel })).entries).toEqual([]);
    g.complete(channel, [0, 1, 2]);
    expect(await g.api.poll({ channel, max: 2 })).toEqual({
      entries: [
        { id: 0, status: 'ok', value: 0 },
        { id: 1, status: 'ok', value: 10 },
      ],
    });
    expect((await g.api.poll({ channel, max: 2 })).entries.map((e) => e.id)).toEqual([2]);
    expect((await g.api.poll({ channel })).entries).toEqual([]);
    expect(g.control).toEqual(before);
    expect(g.counts.awaits).toBe(0);
  });

  it('keeps each queue’s entries to itself', async () => {
    const g = guest();
    const a = await g.api.open({ depth: 8 });
    const b = await g.api.open({ depth: 8 });
    g.complete(b.channel, [7]);
    expect((await g.api.poll({ channel: a.channel })).entries).toEqual([]);
    expect((await g.api.poll({ channel: b.channel })).entries.map((e) => e.id)).toEqual([7]);
  });

  it('wait resolves when a completion arrives later', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    await g.api.put({ channel, value: 4 });
    let settled = false;
    const waiting = g.api.wait({ channel, timeoutMs: 600_000 }).finally(() => {
      settled = true;
    });
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(settled).toBe(false);
    expect(g.counts.awaits).toBe(1);
    g.complete(channel, [0]);
    expect((await waiting).entries).toEqual([{ id: 0, status: 'ok', value: 0 }]);
  });

  it('wait asks to be woken after half the posts in flight have completed, at least one', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    for (let i = 0; i < 7; i++) await g.api.put({ channel, value: i });
    const first = g.api.wait({ channel, timeoutMs: 600_000 });
    await nextTurn();
    g.complete(channel, [0, 1, 2, 3]);
    expect((await first).entries).toHaveLength(4);
    // Three still in flight: woken after two. Then one: after one.
    const second = g.api.wait({ channel, timeoutMs: 600_000 });
    await nextTurn();
    g.complete(channel, [4, 5]);
    await second;
    const third = g.api.wait({ channel, timeoutMs: 600_000 });
    await nextTurn();
    g.complete(channel, [6]);
    await third;
    expect(g.counts.wakeAfter).toEqual([4, 2, 1]);
  });

  it('wait returns at once what is there, and [] at its timeout', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    g.complete(channel, [0]);
    expect((await g.api.wait({ channel, timeoutMs: 600_000 })).entries).toHaveLength(1);
    expect(g.counts.awaits).toBe(0);
    expect((await g.api.wait({ channel, timeoutMs: 1 })).entries).toEqual([]);
    expect((await g.api.wait({ channel, timeoutMs: 0 })).entries).toEqual([]);
  });

  it('a pending wait returns [] when its queue is released', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    const waiting = g.api.wait({ channel, timeoutMs: 600_000 });
    await nextTurn();
    await g.api.close({ channel });
    expect((await waiting).entries).toEqual([]);
    // The queue is gone: a later wait names no queue.
    expect(await codeOf(g.api.wait({ channel, timeoutMs: 0 }))).toBe('BAD_HANDLE');
  });

  it('a pending wait returns [] when everything is released', async () => {
    const g = guest();
    const { channel } = await g.api.open({ depth: 8 });
    const waiting = g.api.wait({ channel, timeoutMs: 600_000 });
    await nextTurn();
    await g.api.shutdown();
    expect((await waiting).entries).toEqual([]);
  });
});

describe('queue lifetimes on the guest', () => {
  it('releasing a channel drops its queue: later posts fail BAD_HANDLE, others go on', async () => {
    const g = guest();
    const a = await g.api.open({ depth: 8 });
    const b = await g.api.open({ depth: 8 });
    await g.api.put({ channel: a.channel, value: 1 });
    await g.api.close({ channel: a.channel });
    expect(await codeOf(g.api.put({ channel: a.channel, value: 2 }))).toBe('BAD_HANDLE');
    expect(await codeOf(g.api.poll({ channel: a.channel }))).toBe('BAD_HANDLE');
    expect(await g.api.put({ channel: b.channel, value: 3 })).toEqual({ id: 0 });
    expect(g.posted).toHaveLength(2);
  });

  it('a release that fails keeps the queue', async () => {
    const queues = fakeQueueLink();
    const control = fakeControl();
    // The host refuses every close.
    const link: Link = {
      call: (request, info) =>
        info.fn.name === 'close'
          ? Promise.resolve(codec.encodeError(info.fn.id, info.callId, new VrdmaError('NOPE', '')))
          : control.link.call(request, info),
    };
    const api = createStub(queueSpec, link, { queues: queues.link });
    const { channel } = await api.open({ depth: 8 });
    expect(await codeOf(api.close({ channel }))).toBe('NOPE');
    expect(await api.put({ channel, value: 1 })).toEqual({ id: 0 });
  });

  it('releases: all drops every queue', async () => {
    const g = guest();
    const a = await g.api.open({ depth: 8 });
    const b = await g.api.open({ depth: 8 });
    await g.api.shutdown();
    expect(await codeOf(g.api.put({ channel: a.channel, value: 1 }))).toBe('BAD_HANDLE');
    expect(await codeOf(g.api.put({ channel: b.channel, value: 1 }))).toBe('BAD_HANDLE');
    expect(g.posted).toHaveLength(0);
  });

  it('counts completions for a released queue, or that name no queue, as stray', () => {
    const q = fakeQueueLink();
    const queues = new GuestQueues(queueSpec, codec, q.link);
    const open = queueSpec.lookup('open')!;
    const close = queueSpec.lookup('close')!;
    const shutdown = queueSpec.lookup('shutdown')!;
    queues.track(open, { depth: 4 }, { channel: 1, depth: 4 });
    queues.track(open, { depth: 4 }, { channel: 2, depth: 4 });
    queues.track(close, { channel: 1 }, undefined);

    q.complete(1, [0]); // released
    q.complete(9, [0]); // never opened
    // A Result frame, and a frame of a function that reaps nothing, are no completions.
    q.complete(2, [], codec.encodeResult(pollFn, 2, { entries: [] }));
    q.complete(2, [], codec.encodeResult(putFn, 2, { id: 0 }, FrameKind.Completion));
    q.complete(2, [3]); // live
    q.link.reap();
    expect(queues.strayCompletions).toBe(4);

    queues.track(shutdown, {}, undefined);
    q.complete(2, [4]);
    q.link.reap();
    expect(queues.strayCompletions).toBe(5);
  });
});

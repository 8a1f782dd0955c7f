import { setTimeout as sleep } from 'node:timers/promises';
import { FrameKind, isVrdmaError, NO_REPLY } from '@vrdma/api-spec';
import { atomicsWakeChannel, Doorbell } from '@vrdma/memory';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  channelBytes,
  initChannel,
  replyRingOffset,
  requestRingOffset,
  Word,
} from './channel-layout.js';
import { createChannelPair } from './channel-pair.js';
import { HostEndpoint } from './host-endpoint.js';
import { RingConsumer, RingProducer, type RingShape } from './ring.js';
import { frameCallId, frameWords, testFrame } from './test-fixtures/frames.js';

const shape: RingShape = { slotCount: 8, slotSize: 64 };
const poll = { spinBudgetUs: 20, sleepTimeoutMs: 20 };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function pair() {
  const p = createChannelPair({ shape, poll });
  cleanups.push(() => p.client.close());
  return p;
}

/** Lets the other side's loop run until `done` holds (or a generous number of turns passed). */
async function until(done: () => boolean, turns = 2000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await sleep(1);
}

/** A few more turns, for what should not happen to get its chance. */
async function quiet(): Promise<void> {
  for (let i = 0; i < 20; i++) await sleep(1);
}

/** A posted call's CallInfo (the endpoint reads only what the frame says). */
const info = (callId: number) => ({ fn: unimemSpec.lookup('write')!, callId });

function completion(callId: number, word: number): Uint8Array {
  return testFrame(FrameKind.Completion, callId, [word]);
}

describe('completions a guest does not read', () => {
  it('hold the host’s push promises once the ring is full, and nothing else; reaping frees them', async () => {
    const { client, server } = pair();
    const received: number[] = [];
    client.queues.onCompletions((frame) => received.push(frameWords(frame)[0]!));

    const POSTS = 3 * shape.slotCount;
    let served = 0;
    let pushed = 0;
    let pending = 0;
    server.serve((request) => {
      served++;
      pending++;
      void server.push(completion(0, frameCallId(request))).then(() => {
        pending--;
        pushed++;
      });
      return NO_REPLY;
    });

    // The guest posts and never looks at its completion ring. (It posts one at a time, once the
    // host took the previous one: a guest waiting for room in a full request ring runs its loop,
    // which reads what the host wrote.)
    for (let i = 0; i < POSTS; i++) {
      await client.queues.post(testFrame(FrameKind.Post, i, [i]), info(i));
      await until(() => served === i + 1);
    }
    await until(() => served === POSTS && pushed === shape.slotCount);
    await quiet();
    expect(served).toBe(POSTS);
    // The ring holds one slot's worth; the rest wait in their promises.
    expect(pushed).toBe(shape.slotCount);
    expect(pending).toBe(POSTS - shape.slotCount);
    // Posted calls get no reply: the host holds no request and no reply for them.
    expect(server.held).toBe(0);
    expect(received).toEqual([]);

    // The guest reaps: room appears, the host writes on, every promise resolves.
    await until(() => {
      client.queues.reap();
      return received.length === POSTS;
    });
    expect(received).toEqual(Array.from({ length: POSTS }, (_, i) => i));
    await until(() => pending === 0);
    expect(pending).toBe(0);
    expect(pushed).toBe(POSTS);
    expect(server.disconnected).toBeUndefined();
    expect(client.disconnected).toBeUndefined();
  });
});

describe('a guest flooding requests and never reading replies', () => {
  it('makes the host hold at most maxInFlight, then drains once it reads', async () => {
    const maxInFlight = 3;
    const memory = new SharedArrayBuffer(channelBytes(shape));
    initChannel(memory, shape);
    const words = new Int32Array(memory, 0, 16);
    const host = new HostEndpoint(
      memory,
      shape,
      atomicsWakeChannel(words, Word.HostSleeps, Word.GuestSleeps),
      { ...poll, maxInFlight },
    );
    cleanups.push(() => host.close());
    const requests = new RingProducer(memory, requestRingOffset(), shape);
    const replies = new RingConsumer(memory, replyRingOffset(shape), shape);
    const wakeHost = () => {
      if (Atomics.compareExchange(words, Word.HostSleeps, 1, 0) === 1)
        Atomics.notify(words, Word.HostSleeps);
    };

    let handled = 0;
    let maxHeld = 0;
    host.serve(async (request) => {
      handled++;
      maxHeld = Math.max(maxHeld, host.held);
      await sleep(0);
      return testFrame(FrameKind.Result, frameCallId(request), [frameCallId(request)]);
    });

    const TOTAL = 100;
    let sent = 0;
    const flood = () => {
      while (sent < TOTAL && requests.tryPush(testFrame(FrameKind.Request, sent, [sent]))) sent++;
      wakeHost();
    };
    const bound = maxInFlight + shape.slotCount;
    await until(() => {
      flood();
      maxHeld = Math.max(maxHeld, host.held);
      return handled >= bound;
    });
    for (let i = 0; i < 20; i++) {
      flood();
      maxHeld = Math.max(maxHeld, host.held);
      await sleep(1);
    }
    // Replies fill the ring, then at most maxInFlight are held; the host takes no more.
    expect(handled).toBe(bound);
    expect(maxHeld).toBeLessThanOrEqual(maxInFlight);
    expect(host.held).toBe(maxInFlight);
    expect(sent).toBe(bound + shape.slotCount);
    expect(host.disconnected).toBeUndefined();

    // The guest reads its replies: everything drains, each reply once and in full.
    const answered: number[] = [];
    await until(() => {
      for (let frame = replies.tryPop(); frame; frame = replies.tryPop())
        answered.push(frameWords(frame)[0]!);
      flood();
      maxHeld = Math.max(maxHeld, host.held);
      return answered.length === TOTAL;
    });
    expect(answered.sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    expect(handled).toBe(TOTAL);
    expect(maxHeld).toBeLessThanOrEqual(maxInFlight);
    expect(host.held).toBe(0);
  });
});

describe('awaitCompletions', () => {
  /** Counts each doorbell's sleeps. */
  function countSleeps() {
    const sleeps = new Map<Doorbell, number>();
    const original = Doorbell.prototype.sleep;
    vi.spyOn(Doorbell.prototype, 'sleep').mockImplementation(function (
      this: Doorbell,
      ...args: Parameters<Doorbell['sleep']>
    ) {
      sleeps.set(this, (sleeps.get(this) ?? 0) + 1);
      return original.apply(this, args);
    });
    return sleeps;
  }

  it('resolves on a completion already written, with no doorbell', async () => {
    const { client, server } = pair();
    server.serve(() => NO_REPLY);
    const received: number[] = [];
    client.queues.onCompletions((frame) => received.push(frameWords(frame)[0]!));
    await server.push(completion(1, 42));
    await client.queues.awaitCompletions(600_000);
    expect(received).toEqual([42]);
    // The guest was awake (it had not even started looking): the host did not ring.
    expect(server.metrics.doorbells).toBe(0);
  });

  it('is rung only when the guest announced sleep, after its spin', async () => {
    const sleeps = countSleeps();
    const { client, server, channel } = pair();
    const words = new Int32Array(channel, 0, 16);
    server.serve(() => NO_REPLY);
    const received: number[] = [];
    client.queues.onCompletions((frame) => received.push(frameWords(frame)[0]!));

    let pushedWhileAsleep = 0;
    const ROUNDS = 12;
    for (let round = 0; round < ROUNDS; round++) {
      let woke = false;
      const waiting = client.queues.awaitCompletions(600_000).then(() => {
        woke = true;
      });
      // Half the rounds push at once (the guest is still looking), half once it sleeps.
      if (round % 2 === 1) await until(() => Atomics.load(words, Word.GuestSleeps) === 1);
      expect(woke).toBe(false);
      if (Atomics.load(words, Word.GuestSleeps) === 1) pushedWhileAsleep++;
      await server.push(completion(1, round));
      await waiting;
      expect(received).toHaveLength(round + 1);
    }
    expect(received).toEqual(Array.from({ length: ROUNDS }, (_, i) => i));
    // The host rang exactly when it found the guest asleep, never more than the guest slept.
    const guestSleeps = sleeps.get((client as unknown as { doorbell: Doorbell }).doorbell) ?? 0;
    expect(pushedWhileAsleep).toBeGreaterThanOrEqual(ROUNDS / 2);
    expect(server.metrics.doorbells).toBe(pushedWhileAsleep);
    expect(server.metrics.doorbells).toBeLessThanOrEqual(guestSleeps);
  });

  it('resolves when its signal aborts, while it waits or before', async () => {
    const { client, server } = pair();
    server.serve(() => NO_REPLY);
    const controller = new AbortController();
    let settled = false;
    const waiting = client.queues.awaitCompletions(600_000, controller.signal).then(() => {
      settled = true;
    });
    await quiet();
    expect(settled).toBe(false);
    controller.abort();
    await until(() => settled);
    expect(settled).toBe(true);
    await waiting;
    await client.queues.awaitCompletions(600_000, controller.signal);
  });

  it('rejects with DISCONNECTED when the transport fails, pending or later', async () => {
    const { client, server } = pair();
    server.serve(() => NO_REPLY);
    const waiting = client.queues.awaitCompletions(600_000).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await server.close();
    const error = await waiting;
    expect(isVrdmaError(error) && error.code).toBe('DISCONNECTED');
    const later = await client.queues.awaitCompletions(600_000).catch((e: unknown) => e);
    expect(isVrdmaError(later) && later.code).toBe('DISCONNECTED');
    const post = await Promise.resolve(
      client.queues.post(testFrame(FrameKind.Post, 1, [1]), info(1)),
    ).catch((e: unknown) => e);
    expect(isVrdmaError(post) && post.code).toBe('DISCONNECTED');
  });
});

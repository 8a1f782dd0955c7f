import { setTimeout as sleep } from 'node:timers/promises';
import { FrameKind } from '@vrdma/api-spec';
import { afterEach, describe, expect, it } from 'vitest';
import { Word } from './channel-layout.js';
import { createChannelPair } from './channel-pair.js';
import { testFrame } from './test-fixtures/frames.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A pair whose guest sleeps as soon as it has nothing to look at (and for long). */
function pair() {
  const p = createChannelPair({
    shape: { slotCount: 16, slotSize: 64 },
    poll: { spinBudgetUs: 1, sleepTimeoutMs: 60_000 },
  });
  cleanups.push(() => p.client.close());
  const words = new Int32Array(p.channel, 0, 16);
  const asleep = async () => {
    for (let i = 0; i < 2000 && Atomics.load(words, Word.GuestSleeps) !== 1; i++) await sleep(1);
    expect(Atomics.load(words, Word.GuestSleeps)).toBe(1);
  };
  return { ...p, words, asleep };
}

const completion = (n: number) => testFrame(FrameKind.Completion, 0, [n]);

/** Lets the other side run a while: what should not happen gets its chance. */
const quiet = () => sleep(30);

describe('interrupt moderation: a sleeping guest asks for its ring after so many completions', () => {
  it('is rung once, by the push that brings the count it asked for, not before', async () => {
    const { client, server, asleep } = pair();
    let woken = false;
    const wait = client.queues.awaitCompletions(60_000, undefined, 3).then(() => {
      woken = true;
    });
    await asleep();
    const rings = server.metrics.doorbells;
    await server.push(completion(1), 1);
    await server.push(completion(2), 1);
    await quiet();
    expect(server.metrics.doorbells).toBe(rings);
    expect(woken).toBe(false);
    await server.push(completion(3), 1);
    await wait;
    expect(server.metrics.doorbells).toBe(rings + 1);
  });

  it('counts the entries a frame carries: one frame of enough entries rings at once', async () => {
    const { client, server, asleep } = pair();
    const wait = client.queues.awaitCompletions(60_000, undefined, 8);
    await asleep();
    const rings = server.metrics.doorbells;
    await server.push(completion(1), 8);
    await wait;
    expect(server.metrics.doorbells).toBe(rings + 1);
  });

  it('rings at the first completion for a waiter that asked for nothing more', async () => {
    const { client, server, asleep } = pair();
    const wait = client.queues.awaitCompletions(60_000);
    await asleep();
    const rings = server.metrics.doorbells;
    await server.push(completion(1));
    await wait;
    expect(server.metrics.doorbells).toBe(rings + 1);
  });

  it('still ends a wait at its timeout when fewer completions come than it asked for', async () => {
    const { client, server, asleep } = pair();
    const started = performance.now();
    const wait = client.queues.awaitCompletions(150, undefined, 5);
    await asleep();
    await server.push(completion(1), 1);
    await wait;
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    // What came is there to reap.
    const seen: Uint8Array[] = [];
    client.queues.onCompletions((frame) => seen.push(frame));
    client.queues.reap();
    expect(seen).toHaveLength(1);
  });

  it('a guest that scribbles on its wake word delays only its own wake', async () => {
    const { client, server, words, asleep } = pair();
    const wait = client.queues.awaitCompletions(200, undefined, 1);
    await asleep();
    // The guest's own word, set so that no count the host reaches soon satisfies it.
    Atomics.store(words, Word.GuestWakeAt, 0x4000_0000);
    const rings = server.metrics.doorbells;
    await server.push(completion(1), 1);
    await wait; // its own timeout ends it
    expect(server.metrics.doorbells).toBe(rings);
    expect(server.disconnected).toBeUndefined();
  });
});

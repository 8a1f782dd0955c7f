import { setImmediate as nextTurn } from 'node:timers/promises';
import { FrameKind, type VrdmaError } from '@vrdma/api-spec';
import { atomicsWakeChannel } from '@vrdma/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  channelBytes,
  initChannel,
  replyRingOffset,
  requestRingOffset,
  Word,
} from './channel-layout.js';
import { HostEndpoint } from './host-endpoint.js';
import { RingProducer, type RingShape } from './ring.js';
import { frameCallId, frameWords, testFrame } from './test-fixtures/frames.js';

const shape: RingShape = { slotCount: 8, slotSize: 64 };
const size = channelBytes(shape);
const CANARY = 0x5a;
const GUARD = 4096;

/** A host serving one channel whose every byte the "guest" (this test) may scribble on. */
function hostOverChannel() {
  // The channel is followed by guard bytes: the host must never write past its channel.
  const memory = new SharedArrayBuffer(size + GUARD);
  new Uint8Array(memory, size).fill(CANARY);
  initChannel(memory, shape);
  const words = new Int32Array(memory, 0, 16);
  const host = new HostEndpoint(
    memory,
    shape,
    atomicsWakeChannel(words, Word.HostSleeps, Word.GuestSleeps),
    { sleepTimeoutMs: 5, spinBudgetUs: 10 },
  );
  const served: Uint8Array[] = [];
  host.serve((request) => {
    served.push(request);
    return testFrame(FrameKind.Result, request.length >= 8 ? frameCallId(request) : 0, [1]);
  });
  const guest = new RingProducer(memory, requestRingOffset(), shape);
  const wake = () => {
    Atomics.store(words, Word.HostSleeps, 0);
    Atomics.notify(words, Word.HostSleeps);
  };
  const guardIntact = () => new Uint8Array(memory, size).every((b) => b === CANARY);
  return { memory, host, served, guest, wake, guardIntact };
}

/** Gives the host time to look at what the guest did: until it caught up or gave up. */
async function settle(host: HostEndpoint, memory: SharedArrayBuffer): Promise<void> {
  const ring = new Int32Array(memory, requestRingOffset(), 32);
  for (let turn = 0; turn < 20 && !host.disconnected; turn++) {
    if (Atomics.load(ring, 0) === Atomics.load(ring, 16)) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** Int32 indices of the words a corruption most likely breaks: ring indices, slot lengths. */
function criticalWords(): number[] {
  const request = requestRingOffset() / 4;
  const reply = replyRingOffset(shape) / 4;
  const slots = Array.from(
    { length: shape.slotCount },
    (_, k) => request + 32 + (k * shape.slotSize) / 4,
  );
  return [request, request + 16, reply, reply + 16, ...slots];
}

type Action =
  | { kind: 'push'; value: number }
  | { kind: 'word'; at: number; value: number }
  | { kind: 'bytes'; at: number; bytes: Uint8Array };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), value: fc.nat() }),
  // Ring indices, sleep words and slot lengths: the words a guest can corrupt.
  fc.record({
    kind: fc.constant('word' as const),
    at: fc.oneof(fc.constantFrom(...criticalWords()), fc.nat({ max: size / 4 - 1 })),
    value: fc.oneof(fc.integer(), fc.constantFrom(-1, 0x7fff_ffff, -(2 ** 31), 8, 9, 60, 61)),
  }),
  fc.record({
    kind: fc.constant('bytes' as const),
    at: fc.nat({ max: size - 1 }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
  }),
);

describe('a hostile guest', () => {
  it('corrupting its ring gets a typed error, never an out-of-bounds access (property)', async () => {
    const outcomes = { broken: 0, served: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 40 }), async (actions) => {
        const { memory, host, served, guest, wake, guardIntact } = hostOverChannel();
        const reasons: VrdmaError[] = [];
        host.onDisconnect((reason) => reasons.push(reason));
        for (const step of actions) {
          if (step.kind === 'push') {
            try {
              guest.tryPush(testFrame(FrameKind.Request, step.value, [step.value]));
            } catch {
              // The guest's own view of the ring it corrupted may be broken too.
            }
          } else if (step.kind === 'word') {
            new Int32Array(memory, 0, size / 4)[step.at] = step.value;
          } else {
            new Uint8Array(memory, 0, size).set(step.bytes.subarray(0, size - step.at), step.at);
          }
          wake();
          await settle(host, memory);
        }
        await host.close();
        expect(guardIntact()).toBe(true);
        for (const request of served) expect(request.length).toBeLessThanOrEqual(60);
        expect(reasons).toHaveLength(1);
        expect(['TRANSPORT', 'DISCONNECTED']).toContain(reasons[0]!.code);
        if (reasons[0]!.code === 'TRANSPORT') outcomes.broken++;
        if (served.length > 0) outcomes.served++;
      }),
      { numRuns: 60 },
    );
    // The property saw both worlds: rings the host found broken, and requests it served.
    expect(outcomes.broken).toBeGreaterThan(0);
    expect(outcomes.served).toBeGreaterThan(0);
  });

  it('with a broken ring is cut off while another guest is still served', async () => {
    const bad = hostOverChannel();
    const good = hostOverChannel();
    const badReason = new Promise<VrdmaError>((resolve) => bad.host.onDisconnect(resolve));
    new Int32Array(bad.memory, requestRingOffset(), 1)[0] = 1000; // tail 1000 slots ahead
    bad.wake();
    expect((await badReason).code).toBe('TRANSPORT');
    expect(bad.host.disconnected?.message).toMatch(/ring broken: producer index 1000/);

    good.guest.tryPush(testFrame(FrameKind.Request, 1, [42]));
    good.wake();
    while (good.served.length === 0) await nextTurn();
    expect(frameWords(good.served[0]!)).toEqual([42]);
    expect(good.host.disconnected).toBeUndefined();
    await good.host.close();
  });
});

import { createCodec, decodeFrame, FrameKind, isVrdmaError } from '@vrdma/api-spec';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createChannelPair } from './channel-pair.js';
import { frameCallId, frameWords, testFrame } from './test-fixtures/frames.js';

const pairs: Array<ReturnType<typeof createChannelPair>> = [];
function pair(...args: Parameters<typeof createChannelPair>) {
  const p = createChannelPair(...args);
  pairs.push(p);
  return p;
}
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.client.close();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

describe('a channel', () => {
  it('carries the largest Unimem data-plane frames in its default slots', () => {
    const { client } = pair();
    const codec = createCodec(unimemSpec);
    for (const fn of unimemSpec.table.filter((f) => f.plane === 'data')) {
      expect(12 + fn.argsLayout!.size).toBeLessThanOrEqual(client.maxFrame);
      expect(12 + fn.resultLayout!.size).toBeLessThanOrEqual(client.maxFrame);
    }
    expect(codec).toBeDefined();
  });

  it('refuses a request larger than a slot with TRANSPORT, and keeps working', async () => {
    const { client, server } = pair({ shape: { slotCount: 4, slotSize: 64 } });
    server.serve((request) => testFrame(FrameKind.Result, frameCallId(request), [7]));
    const error = await rejection(
      client.call(testFrame(FrameKind.Request, 1, new Array(20).fill(0))),
    );
    expect(isVrdmaError(error, 'TRANSPORT')).toBe(true);
    expect(frameWords(await client.call(testFrame(FrameKind.Request, 2, [0])))).toEqual([7]);
  });

  it('turns a reply larger than a slot into a TRANSPORT error reply to that call', async () => {
    const { client, server } = pair({ shape: { slotCount: 4, slotSize: 64 } });
    server.serve((request) =>
      testFrame(FrameKind.Result, frameCallId(request), new Array(50).fill(1)),
    );
    const reply = decodeFrame(await client.call(testFrame(FrameKind.Request, 9, [0])));
    expect(reply.kind).toBe(FrameKind.Error);
    expect(reply.callId).toBe(9);
    const wire = createCodec(unimemSpec).decodeError(reply);
    expect(wire.code).toBe('TRANSPORT');
    expect(wire.message.length).toBeGreaterThan(0); // shortened to fit the 64-byte slot
    expect('reply of 212 bytes exceeds the ring slot (60 bytes)').toContain(wire.message);
  });

  it('fails an aborted call with ABORTED and drops its late reply', async () => {
    const { client, server } = pair();
    let release: () => void = () => {};
    server.serve((request) => {
      const reply = testFrame(FrameKind.Result, frameCallId(request), [1]);
      if (frameCallId(request) !== 5) return reply;
      return new Promise((resolve) => {
        release = () => resolve(reply);
      });
    });
    const controller = new AbortController();
    const fn = unimemSpec.table[0]!;
    const pending = client.call(testFrame(FrameKind.Request, 5, [0]), {
      fn,
      callId: 5,
      signal: controller.signal,
    });
    controller.abort();
    expect(isVrdmaError(await rejection(pending), 'ABORTED')).toBe(true);
    release();
    expect(frameWords(await client.call(testFrame(FrameKind.Request, 6, [0])))).toEqual([1]);
  });

  it('fails pending calls with DISCONNECTED when the host side closes', async () => {
    const { client, server } = pair();
    server.serve(() => new Promise(() => {}));
    const pending = client.call(testFrame(FrameKind.Request, 1, [0]));
    const reasons: string[] = [];
    client.onDisconnect((reason) => reasons.push(reason.code));
    await server.close();
    expect(isVrdmaError(await rejection(pending), 'DISCONNECTED')).toBe(true);
    expect(reasons).toEqual(['DISCONNECTED']);
  });
});

import {
  type CallInfo,
  encodeFrame,
  type FrameHandler,
  FrameKind,
  type Region,
} from '@vrdma/api-spec';
import { createSharedRegion } from '@vrdma/memory';
import { createAtomicsDoorbell } from './atomics-doorbell.js';
import type { PollState } from './busy-poller.js';
import { CONFIG } from './config-block.js';
import type { NotificationSource, Notifier } from './notifier.js';

/**
 * Test and bench support: a heap region with Atomics doorbells in its configuration block,
 * and an echo protocol whose replies carry the request's call id.
 */
export function createThreadRegion(bytes = 1 << 19): Region {
  return createSharedRegion(7, bytes);
}

export function threadDoorbells(region: Region): {
  kick: Notifier & NotificationSource;
  interrupt: Notifier & NotificationSource;
} {
  return {
    kick: createAtomicsDoorbell(region, CONFIG.kickWord),
    interrupt: createAtomicsDoorbell(region, CONFIG.interruptWord),
  };
}

export function echoRequest(callId: number, payload: Uint8Array): Uint8Array {
  return encodeFrame({ kind: FrameKind.Request, fnId: 1, callId, fingerprint32: 0 }, payload);
}

/** Replies with the request's header (kind Result) and the payload reversed. */
export const echoHandler: FrameHandler = (request) => {
  const reply = request.slice();
  reply[1] = FrameKind.Result;
  reply.subarray(12).reverse();
  return reply;
};

export function callInfo(callId: number): CallInfo {
  return { callId, fn: undefined as unknown as CallInfo['fn'] };
}

/** Turns of the event loop until none of `polls` polls any more (their windows ran out). */
export async function untilPollingStops(...polls: PollState[]): Promise<void> {
  for (let turn = 0; polls.some((poll) => poll.polling); turn++) {
    if (turn === 1_000_000) throw new Error('a poll loop still runs after a million turns');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

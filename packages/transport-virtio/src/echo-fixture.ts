import {
  type CallInfo,
  encodeFrame,
  type FrameHandler,
  FrameKind,
  type Region,
} from '@vrdma/api-spec';
import { createSharedRegion } from '@vrdma/memory';
import { createAtomicsDoorbell } from './atomics-doorbell.js';
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

import { type FrameHandler, FrameKind } from '@vrdma/api-spec';
import type { RegionRegistry } from '@vrdma/memory';
import {
  fillPattern,
  frameCallId,
  frameWords,
  GUEST_SEED,
  HOST_SEED,
  hasPattern,
  Op,
  testFrame,
} from './frames.js';

/**
 * The host side of the test protocol; `seen` records increments in arrival order, and
 * `onHang` hears of each call the host takes in and will never answer.
 */
export function testHandler(
  regions: RegionRegistry,
  seen: number[] = [],
  onHang: () => void = () => {},
): FrameHandler {
  return (request) => {
    const callId = frameCallId(request);
    const [op, a = 0, b = 0, c = 0] = frameWords(request);
    switch (op) {
      case Op.Increment:
        seen.push(a);
        return testFrame(FrameKind.Result, callId, [a + 1]);
      case Op.Hang:
        onHang();
        return new Promise<Uint8Array>(() => {});
      case Op.ZeroCopy: {
        const view = regions.resolve({ region: a, offset: b, length: c });
        const sawGuest = hasPattern(view, GUEST_SEED);
        fillPattern(view, HOST_SEED);
        return testFrame(FrameKind.Result, callId, [sawGuest ? 1 : 0]);
      }
      default:
        return testFrame(FrameKind.Error, callId, []);
    }
  };
}

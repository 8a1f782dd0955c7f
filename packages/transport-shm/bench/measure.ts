import { FrameKind } from '@vrdma/api-spec';
import { frameCallId, frameWords, Op, testFrame } from '../src/test-fixtures/frames.js';

/** One way of making the benchmark's call: a request frame in, its reply frame out. */
export type Caller = (request: Uint8Array) => Promise<Uint8Array>;

/** Called between phases; resolves once both sides noted their doorbell counters. */
export type Checkpoint = (phase: string) => Promise<void>;

export interface Figures {
  /** Median and 99th percentile of one call at a time, in microseconds. */
  rttMedianUs: number;
  rttP99Us: number;
  /** Calls per second with `window` calls in flight. */
  pipelinedPerSec: number;
}

export interface Plan {
  rttCalls: number;
  pipelinedCalls: number;
  window: number;
}

export const PLAN: Plan = { rttCalls: 20_000, pipelinedCalls: 200_000, window: 32 };

let nextCallId = 1;
function request(value: number): Uint8Array {
  nextCallId = nextCallId >= 0xffff_fff0 ? 1 : nextCallId + 1;
  return testFrame(FrameKind.Request, nextCallId, [Op.Increment, value]);
}

function check(reply: Uint8Array, value: number): void {
  if (frameWords(reply)[0] !== value + 1) {
    throw new Error(`call ${frameCallId(reply)}: wrong reply`);
  }
}

/** The increment call, timed one at a time, then pipelined. */
export async function measure(
  call: Caller,
  plan: Plan = PLAN,
  checkpoint: Checkpoint = async () => {},
): Promise<Figures> {
  for (let i = 0; i < 2000; i++) check(await call(request(i)), i); // warm-up
  await checkpoint('rtt');
  const times = new Float64Array(plan.rttCalls);
  for (let i = 0; i < plan.rttCalls; i++) {
    const start = performance.now();
    check(await call(request(i)), i);
    times[i] = performance.now() - start;
  }
  times.sort();
  await checkpoint('pipelined');
  let next = 0;
  const lane = async () => {
    while (next < plan.pipelinedCalls) {
      const value = next++;
      check(await call(request(value)), value);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: plan.window }, lane));
  const seconds = (performance.now() - start) / 1000;
  await checkpoint('end');
  return {
    rttMedianUs: times[Math.floor(times.length / 2)]! * 1000,
    rttP99Us: times[Math.floor(times.length * 0.99)]! * 1000,
    pipelinedPerSec: plan.pipelinedCalls / seconds,
  };
}

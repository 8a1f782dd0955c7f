import type { UnimemSession } from '@vrdma/unimem-api';
import { allocUntilRefused, type Holdings, hold, probe } from './probe.js';
import { type VerifyResult, verifyRoundTrip } from './verify.js';
import {
  type BandwidthPoint,
  type ControlCall,
  controlCallCosts,
  streamUntil,
  type Target,
  type WriteRate,
  writeBandwidth,
  writeRate,
} from './workloads.js';

/** What a guest can be asked to run; the same union in-process, in a worker or in a process. */
export type WorkloadRequest =
  | {
      kind: 'bandwidth';
      target: Target;
      sizes: number[];
      budget: { minBytes: number; minOps: number };
    }
  | { kind: 'control'; rounds: number }
  | { kind: 'write-rate'; target: Target; size: number; depth: number; durationMs: number }
  | {
      kind: 'stream';
      target: Target;
      size: number;
      durationMs: number;
      /** Streams side by side, each on its own channel (default 1). */
      lanes?: number;
      /** Writes each lane keeps in flight (default 8). */
      depth?: number;
    }
  | { kind: 'hold'; size: number }
  | { kind: 'probe'; foreign: Holdings }
  | { kind: 'alloc-until-refused'; size: number; max: number }
  | { kind: 'verify'; target: Target; size: number; seed: number }
  | { kind: 'transport-counters' };

export interface TransportCounters {
  control: { messages: number; doorbells: number };
  data: { messages: number; doorbells: number };
}

export type WorkloadResult =
  | { kind: 'bandwidth'; points: BandwidthPoint[] }
  | {
      kind: 'control';
      micros: Record<ControlCall, number>;
      medianMicros: Record<ControlCall, number>;
    }
  | { kind: 'write-rate'; rate: WriteRate }
  | { kind: 'stream'; bytes: number; seconds: number }
  | { kind: 'hold'; holdings: Holdings }
  | { kind: 'probe'; outcomes: Record<string, string> }
  | { kind: 'alloc-until-refused'; count: number; code: string }
  | { kind: 'verify'; result: VerifyResult }
  | { kind: 'transport-counters'; counters: TransportCounters };

/** Runs one request on `device`; `counters` reads the guest's own transport metrics. */
export async function runWorkload(
  device: UnimemSession,
  request: WorkloadRequest,
  counters: () => TransportCounters,
): Promise<WorkloadResult> {
  switch (request.kind) {
    case 'bandwidth': {
      const points: BandwidthPoint[] = [];
      for (const size of request.sizes)
        points.push(await writeBandwidth(device, request.target, size, request.budget));
      return { kind: 'bandwidth', points };
    }
    case 'control': {
      const costs = await controlCallCosts(device, request.rounds);
      return { kind: 'control', micros: costs.mean, medianMicros: costs.median };
    }
    case 'write-rate':
      return {
        kind: 'write-rate',
        rate: await writeRate(device, request.target, request.size, request),
      };
    case 'stream':
      return { kind: 'stream', ...(await streamLanes(device, request)) };
    case 'hold':
      return { kind: 'hold', holdings: await hold(device, request.size) };
    case 'probe':
      return { kind: 'probe', outcomes: await probe(device, request.foreign) };
    case 'alloc-until-refused':
      return {
        kind: 'alloc-until-refused',
        ...(await allocUntilRefused(device, request.size, request.max)),
      };
    case 'verify':
      return {
        kind: 'verify',
        result: await verifyRoundTrip(device, request.target, request.size, request.seed),
      };
    case 'transport-counters':
      return { kind: 'transport-counters', counters: counters() };
  }
}

/**
 * `lanes` streams side by side, each with its own buffer and channel, until one shared deadline;
 * `bytes` are those completed within the window, `seconds` the window's length.
 */
async function streamLanes(
  device: UnimemSession,
  request: Extract<WorkloadRequest, { kind: 'stream' }>,
): Promise<{ bytes: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const deadline = Date.now() + request.durationMs;
  const lanes = await Promise.all(
    Array.from({ length: request.lanes ?? 1 }, () =>
      streamUntil(device, request.target, request.size, deadline, request.depth),
    ),
  );
  const seconds = Math.min(
    Number(process.hrtime.bigint() - started) / 1e9,
    request.durationMs / 1000,
  );
  return { bytes: lanes.reduce((a, l) => a + l.bytes, 0), seconds };
}

import type { UnimemSession } from '@vrdma/api-spec';
import { type VerifyResult, verifyRoundTrip } from './verify.js';
import {
  type BandwidthPoint,
  type ControlCall,
  controlCallCosts,
  streamFor,
  type Target,
  writeBandwidth,
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
  | { kind: 'stream'; target: Target; size: number; durationMs: number }
  | { kind: 'verify'; target: Target; size: number; seed: number }
  | { kind: 'transport-counters' };

export interface TransportCounters {
  control: { messages: number; doorbells: number };
  data: { messages: number; doorbells: number };
}

export type WorkloadResult =
  | { kind: 'bandwidth'; points: BandwidthPoint[] }
  | { kind: 'control'; micros: Record<ControlCall, number> }
  | { kind: 'stream'; bytes: number; seconds: number }
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
    case 'control':
      return { kind: 'control', micros: await controlCallCosts(device, request.rounds) };
    case 'stream':
      return {
        kind: 'stream',
        ...(await streamFor(device, request.target, request.size, request.durationMs)),
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

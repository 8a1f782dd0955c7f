import type { Plan } from './measure.js';

/** Doorbell counters of both sides at each phase boundary of the ring measurement. */
export interface DoorbellLog {
  kicks: Record<string, number>;
  interrupts: Record<string, number>;
}

/** Doorbells per call in each steady-state phase (after warm-up). */
export function doorbellsPerCall(log: DoorbellLog, plan: Plan) {
  const per = (counts: Record<string, number>, from: string, to: string, calls: number) =>
    ((counts[to] ?? 0) - (counts[from] ?? 0)) / calls;
  return {
    rtt: {
      kicks: per(log.kicks, 'rtt', 'pipelined', plan.rttCalls),
      interrupts: per(log.interrupts, 'rtt', 'pipelined', plan.rttCalls),
    },
    pipelined: {
      kicks: per(log.kicks, 'pipelined', 'end', plan.pipelinedCalls),
      interrupts: per(log.interrupts, 'pipelined', 'end', plan.pipelinedCalls),
    },
  };
}

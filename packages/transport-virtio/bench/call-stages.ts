/**
 * Where one control call's time goes: a timestamp per stage and call, written by the guest
 * thread and the host into one SharedArrayBuffer (process.hrtime is one clock for all
 * threads). Calls are made one at a time, so the n-th call is the n-th publish, pop, push and
 * reap on every side: the stages are found by counting, with no change to the transport.
 */
export const STAGES = [
  'start', // the guest calls api.query()
  'call', // the stub encoded the frame and handed it to the transport
  'published', // the driver made the chain available (avail idx stored)
  'popped', // the device took the chain off the ring
  'dispatched', // the host's handler returned (decoded, dispatched, engine call started)
  'replied', // the handler's reply is ready (engine done, reply encoded)
  'pushed', // the device wrote the reply and its used element
  'reaped', // the driver took the reply off the used ring
  'resumed', // the guest's await returned (reply decoded)
] as const;

export type Stage = (typeof STAGES)[number];

export function stageClock(buffer: SharedArrayBuffer) {
  const times = new Float64Array(buffer);
  const width = STAGES.length;
  return {
    calls: times.length / width,
    mark(call: number, stage: Stage): void {
      if (call < times.length / width) {
        times[call * width + STAGES.indexOf(stage)] = Number(process.hrtime.bigint());
      }
    },
    /** µs from stage `from` to stage `to` of `call`, or undefined if one is missing. */
    span(call: number, from: Stage, to: Stage): number | undefined {
      const a = times[call * width + STAGES.indexOf(from)]!;
      const b = times[call * width + STAGES.indexOf(to)]!;
      return a > 0 && b > 0 ? (b - a) / 1000 : undefined;
    },
  };
}

export function stageBuffer(calls: number): SharedArrayBuffer {
  return new SharedArrayBuffer(calls * STAGES.length * Float64Array.BYTES_PER_ELEMENT);
}

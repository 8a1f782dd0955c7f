/** At most this many rounds run untimed before the timed ones (see meanCallCosts). */
export const MAX_WARM_UP_ROUNDS = 1000;

/** Times one call of a round: it resolves with the call's result. */
export type TimeCall<C extends string> = <T>(fn: C, call: () => Promise<T>) => Promise<T>;

/** µs per call of each name: the mean, and the median (perftest's "typical"). */
export interface CallCosts<C extends string> {
  mean: Record<C, number>;
  median: Record<C, number>;
}

/**
 * The cost of each named call, each timed alone, over `rounds` runs of `round`, after three
 * times as many untimed runs (at most MAX_WARM_UP_ROUNDS): a call path runs once per call, so
 * the JIT needs thousands of calls before it is compiled, and the round trips the calls are
 * compared with are warmed up too. Calls a round makes without `time` (clean-up) are not
 * counted. The mean carries the tail (a thread the OS preempted); the median is the typical call.
 */
export async function meanCallCosts<C extends string>(
  calls: readonly C[],
  rounds: number,
  round: (time: TimeCall<C>) => Promise<void>,
): Promise<CallCosts<C>> {
  const samples = Object.fromEntries(calls.map((c) => [c, [] as number[]])) as Record<C, number[]>;
  let timing = false;
  const time: TimeCall<C> = async (fn, call) => {
    const started = process.hrtime.bigint();
    const result = await call();
    if (timing) samples[fn].push(Number(process.hrtime.bigint() - started) / 1e3);
    return result;
  };
  for (let i = 0; i < Math.min(3 * rounds, MAX_WARM_UP_ROUNDS); i++) await round(time);
  timing = true;
  for (let i = 0; i < rounds; i++) await round(time);
  const costs = { mean: {}, median: {} } as CallCosts<C>;
  for (const fn of calls) {
    costs.mean[fn] = mean(samples[fn]);
    costs.median[fn] = median(samples[fn]);
  }
  return costs;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds run untimed before the timed ones, so that the JIT has compiled the calls. */
export const WARM_UP_ROUNDS = 150;

/** Times one call of a round: it resolves with the call's result. */
export type TimeCall<C extends string> = <T>(fn: C, call: () => Promise<T>) => Promise<T>;

/**
 * Mean microseconds of each named call, each timed alone, over `rounds` runs of `round`, after
 * as many untimed runs (at most WARM_UP_ROUNDS, about a thousand calls) to warm the code up, as
 * the round trips the calls are compared with are. Calls a round makes without `time` (clean-up)
 * are not counted.
 */
export async function meanCallCosts<C extends string>(
  calls: readonly C[],
  rounds: number,
  round: (time: TimeCall<C>) => Promise<void>,
): Promise<Record<C, number>> {
  const total = Object.fromEntries(calls.map((c) => [c, 0])) as Record<C, number>;
  let timing = false;
  const time: TimeCall<C> = async (fn, call) => {
    const started = process.hrtime.bigint();
    const result = await call();
    if (timing) total[fn] += Number(process.hrtime.bigint() - started) / 1e3;
    return result;
  };
  for (let i = 0; i < Math.min(rounds, WARM_UP_ROUNDS); i++) await round(time);
  timing = true;
  for (let i = 0; i < rounds; i++) await round(time);
  for (const fn of calls) total[fn] /= rounds;
  return total;
}

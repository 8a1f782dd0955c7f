import type { Completion, Handle, UnimemApi } from '@vrdma/api-spec';

/** Reaps `count` completions of a channel, oldest first; throws after `rounds` waits of 100 ms. */
export async function reap(
  session: Pick<UnimemApi, 'wait'>,
  channel: Handle<'Channel'>,
  count: number,
  rounds = 300,
): Promise<Completion[]> {
  const reaped: Completion[] = [];
  for (let round = 0; reaped.length < count && round < rounds; round++) {
    const { completions } = await session.wait({ channel, timeoutMs: 100 });
    reaped.push(...completions);
  }
  if (reaped.length < count)
    throw new Error(`only ${reaped.length} of ${count} completions arrived`);
  return reaped;
}

/** Lets the DMA engine run a few turns (it works on the event loop, between calls). */
export async function turns(count = 1): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

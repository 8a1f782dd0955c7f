import type { Handle } from '@vrdma/api-spec';
import type { Completion, UnimemSession } from '@vrdma/unimem-api';

/** Reaps until `count` completions came, waiting as long as a busy machine needs. */
export async function reap(
  session: UnimemSession,
  channel: Handle<'Channel'>,
  count: number,
): Promise<Completion[]> {
  const got: Completion[] = [];
  for (let round = 0; got.length < count && round < 600; round++)
    got.push(...(await session.wait({ channel, timeoutMs: 100 })).completions);
  return got;
}

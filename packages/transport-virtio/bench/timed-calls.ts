import { type ClientTransport, createStub } from '@vrdma/api-spec';
import { unimemSpec } from '@vrdma/unimem-api';

export interface GuestReport {
  nsPerCall: number;
  kicks: number;
  messages: number;
}

/** Times `query` control calls over `transport`, one at a time or in bursts, after a warm-up (WARMUP calls, default 500). */
export async function timeQueries(
  transport: ClientTransport,
  calls: number,
  burst: number,
): Promise<GuestReport> {
  const api = createStub(unimemSpec, transport);
  const run = async (count: number): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let done = 0; done < count; done += burst) {
      await Promise.all(Array.from({ length: burst }, () => api.query()));
    }
    return Number(process.hrtime.bigint() - start) / count;
  };
  // Warm-up: JIT (each guest is a fresh thread or process), ring laps, poll windows.
  await run(Number(process.env.WARMUP ?? Math.min(calls, 500)));
  const before = { ...transport.metrics };
  const nsPerCall = await run(calls);
  return {
    nsPerCall,
    kicks: transport.metrics.doorbells - before.doorbells,
    messages: transport.metrics.messages - before.messages,
  };
}

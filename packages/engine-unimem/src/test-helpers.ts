import type { Handle } from '@vrdma/api-spec';
import type { Completion, UnimemApi } from '@vrdma/unimem-api';

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

/** `count` TCP ports free on 127.0.0.1 right now (the OS picks them). */
export async function freePorts(count: number): Promise<number[]> {
  const { createServer } = await import('node:net');
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

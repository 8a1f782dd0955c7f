import {
  type BufferRef,
  createMemoryTransportPair,
  type FrameHandler,
  FrameKind,
  peekFrameKind,
  type ServerTransport,
} from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { createLocalCluster } from '@vrdma/engine-unimem';
import { connect } from '@vrdma/frontend';
import { createSharedRegion } from '@vrdma/memory';
import { createChannelPair } from '@vrdma/transport-shm';
import {
  type GlobalAddress,
  type UnimemEngine,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from './host.js';
import { service } from './service.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The data-plane transport as the host sees it, noting what it answered each posted frame. */
function watched(server: ServerTransport, answers: unknown[]): ServerTransport {
  return {
    get metrics() {
      return server.metrics;
    },
    get maxPushFrame() {
      return server.maxPushFrame;
    },
    serve: (handler: FrameHandler) =>
      server.serve((frame) => {
        const answer = handler(frame);
        if (peekFrameKind(frame) === FrameKind.Post) answers.push(answer);
        return answer;
      }),
    push: (frame, entries) => server.push!(frame, entries),
    whileBusy: (busy) => server.whileBusy?.(busy),
    onDisconnect: (listener) => server.onDisconnect(listener),
    close: () => server.close(),
  };
}

/**
 * 200 posted 64-byte writes, 32 in flight, from a guest on a shm data channel to a buffer of
 * node 1; resolves with what the host answered each post, once every write completed `ok`
 * and its bytes are in the target.
 */
async function postWrites(engines: { host: UnimemEngine; peer: UnimemEngine }): Promise<unknown[]> {
  const host: Host = createHost({ services: [service(unimemSpec, engines.host)] });
  cleanups.push(() => host.close());
  const peer = engines.peer.openSession({ label: 'peer' });
  await peer.open();
  const target = await peer.alloc({ size: 64 * 200 });
  const { key, address } = await peer.exportBuffer({ buffer: target.buffer, access: 'write' });
  const memory = createSharedRegion(900 + cleanups.length, 1 << 20);
  const control = createMemoryTransportPair();
  const data = createChannelPair({ poll: { spinBudgetUs: 20, sleepTimeoutMs: 20 } });
  const answers: unknown[] = [];
  host.attach({ control: control.server, data: watched(data.server, answers), memory });
  const connection = await connect({
    spec: unimemSpec,
    control: control.client,
    data: data.client,
    memory,
  });
  cleanups.push(() => connection.close());
  const device = unimemSession(connection);
  await device.open();
  const source = await device.alloc({ size: 64 * 200 });
  const bytes = memory.bytes.subarray(source.ref.offset, source.ref.offset + 64 * 200);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  const { channel } = await device.openChannel({ depth: 64 });
  let posted = 0;
  let completed = 0;
  while (completed < 200) {
    while (posted < 200 && posted - completed < 32) {
      const local = { ...source.ref, offset: source.ref.offset + 64 * posted, length: 64 };
      const remote = ((address as bigint) + BigInt(64 * posted)) as GlobalAddress;
      void device.write({ channel, local, remote, key });
      posted++;
    }
    const { completions } = await device.wait({ channel, timeoutMs: 10_000 });
    expect(completions.length).toBeGreaterThan(0);
    for (const c of completions) expect(c.status).toBe('ok');
    completed += completions.length;
  }
  // Both engines' sessions can show a buffer as their node holds it.
  const view = (peer as unknown as { view(ref: BufferRef): Uint8Array }).view(target.ref);
  expect(Buffer.from(view)).toEqual(Buffer.from(bytes));
  return answers;
}

describe('a posted write the engine takes at once', () => {
  it('costs the host no promise: interceptors, scheduler and engine answer it in the same call', async () => {
    const cluster = createLocalCluster({ nodes: [0, 1] });
    cleanups.push(() => cluster.shutdown());
    const answers = await postWrites({ host: cluster.node(0), peer: cluster.node(1) });
    expect(answers).toHaveLength(200);
    for (const answer of answers) {
      expect(answer).toBeInstanceOf(Uint8Array);
      expect((answer as Uint8Array).length).toBe(0); // NO_REPLY
    }
  });

  it('is answered by a promise from an engine without postNow, and completes all the same', async () => {
    const cluster = createMockCluster({ nodes: [0, 1] });
    const answers = await postWrites({ host: cluster.engine(0), peer: cluster.engine(1) });
    expect(answers).toHaveLength(200);
    expect(answers.every((answer) => answer instanceof Promise)).toBe(true);
  });
});

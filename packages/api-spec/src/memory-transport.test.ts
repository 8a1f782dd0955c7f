import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineApi } from './define-api.js';
import { createDispatcher } from './dispatcher.js';
import { createMemoryTransportPair } from './memory-transport.js';
import { createStub } from './stub.js';

const spec = defineApi({
  name: 'sleepy',
  version: 1,
  errors: [],
  functions: {
    sleep: {
      plane: 'control',
      args: { ms: z.number().int().min(0).max(1000) },
      result: z.number(),
      errors: [],
    },
  },
});

function setup() {
  const { client, server } = createMemoryTransportPair();
  const dispatcher = createDispatcher(spec, {
    sleep: ({ ms }) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
  });
  server.serve((frame) => dispatcher.handle(frame));
  return { client, server, api: createStub(spec, client) };
}

describe('createMemoryTransportPair', () => {
  it('matches replies to calls when they come back out of order', async () => {
    const { client, server } = createMemoryTransportPair();
    // The host holds every call (tagged by its `ms`) until the test says which one it finishes.
    const finish = new Map<number, () => void>();
    const allArrived = new Promise<void>((resolve) => {
      const dispatcher = createDispatcher(spec, {
        sleep: ({ ms }) =>
          new Promise<number>((answer) => {
            finish.set(ms, () => answer(ms));
            if (finish.size === 3) resolve();
          }),
      });
      server.serve((frame) => dispatcher.handle(frame));
    });
    const api = createStub(spec, client);
    const answered: number[] = [];
    const calls = [1, 2, 3].map((ms) =>
      api.sleep({ ms }).then((value) => {
        answered.push(value);
      }),
    );
    await allArrived;
    // Finished 2, 3, 1: each reply reaches its own caller while the earlier calls still wait.
    for (const ms of [2, 3, 1]) {
      finish.get(ms)!();
      await calls[ms - 1];
    }
    expect(answered).toEqual([2, 3, 1]);
  });

  it('rings one doorbell for calls issued together, one per reply', async () => {
    const { api, client, server } = setup();
    await Promise.all(Array.from({ length: 16 }, () => api.sleep({ ms: 0 })));
    expect(client.metrics.messages).toBe(16);
    expect(client.metrics.doorbells).toBe(1);
    expect(server.metrics.messages).toBe(16);
    expect(server.metrics.doorbells).toBe(16);
  });

  it('fails every pending call with DISCONNECTED when the host goes away, and tells both sides', async () => {
    const { api, client, server } = setup();
    const seen: string[] = [];
    client.onDisconnect((reason) => seen.push(`client: ${reason.code}`));
    server.onDisconnect((reason) => seen.push(`server: ${reason.code}`));
    const pending = [api.sleep({ ms: 200 }), api.sleep({ ms: 300 })];
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.close();
    for (const call of pending) await expect(call).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(api.sleep({ ms: 0 })).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(seen).toEqual(['client: DISCONNECTED', 'server: DISCONNECTED']);
  });

  it('holds requests sent before the host serves, and delivers them in order', async () => {
    const { client, server } = createMemoryTransportPair();
    const api = createStub(spec, client);
    const early = api.sleep({ ms: 2 });
    const dispatcher = createDispatcher(spec, { sleep: ({ ms }) => ms });
    server.serve((frame) => dispatcher.handle(frame));
    expect(await early).toBe(2);
  });
});

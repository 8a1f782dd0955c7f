import { createDispatcher, createStub } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import {
  type SessionOptions,
  type UnimemEngine,
  type UnimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { describeUnimemConformance } from '@vrdma/unimem-api/testing';
import { createVirtioClientTransport } from './client-transport.js';
import { createThreadRegion, threadDoorbells } from './echo-fixture.js';
import { createVirtioServerTransport } from './server-transport.js';

/**
 * Every call of every session goes stub → frame → virtqueue (driver) → device → dispatcher →
 * engine, and back through the used ring: the whole Unimem API over the virtio control plane.
 */
function virtioEngine(engine: UnimemEngine, closers: Array<() => Promise<void>>): UnimemEngine {
  return {
    node: engine.node,
    openSession(options?: SessionOptions): UnimemSession {
      const session = engine.openSession(options);
      const region = createThreadRegion();
      const bells = threadDoorbells(region);
      const server = createVirtioServerTransport({
        region,
        kicks: bells.kick,
        interrupts: bells.interrupt,
      });
      server.serve(createDispatcher(unimemSpec, session).handle);
      const client = createVirtioClientTransport({
        region,
        kicks: bells.kick,
        interrupts: bells.interrupt,
      });
      const close = async () => {
        await client.close();
        await server.close();
      };
      closers.push(close);
      const stub = createStub(unimemSpec, client);
      return {
        ...stub,
        view: (ref) => session.view(ref),
        dispose: async () => {
          await close();
          await session.dispose();
        },
      };
    },
  };
}

describeUnimemConformance({
  name: 'engine-mock over the virtio control plane',
  setup: async () => {
    const closers: Array<() => Promise<void>> = [];
    return {
      engines: createMockCluster({ nodes: [0, 1] }).engines.map((e) => virtioEngine(e, closers)),
      teardown: async () => {
        await Promise.all(closers.map((close) => close()));
      },
    };
  },
});

import { createDispatcher, createStub } from '@vrdma/api-spec';
import { createChannelPair } from '@vrdma/transport-shm';
import { type UnimemEngine, unimemSpec } from '@vrdma/unimem-api';
import { describeUnimemConformance, loopbackEngine } from '@vrdma/unimem-api/testing';
import { createMockCluster } from './cluster.js';

/**
 * Every call of every session goes stub → frame → shm ring (real slots, polling and doorbells)
 * → dispatcher → engine. Slots of 4 KiB so control-plane frames fit too.
 */
function overShmRing(engine: UnimemEngine): UnimemEngine {
  return {
    node: engine.node,
    openSession(options) {
      const session = engine.openSession(options);
      const { client, server } = createChannelPair({ shape: { slotCount: 16, slotSize: 4096 } });
      const dispatcher = createDispatcher(unimemSpec, session);
      server.serve((request) => dispatcher.handle(request));
      const stub = createStub(unimemSpec, client);
      return {
        ...stub,
        view: (ref) => session.view(ref),
        dispose: async () => {
          await client.close();
          await session.dispose();
        },
      };
    },
  };
}

describeUnimemConformance({
  name: 'engine-mock (native)',
  setup: async () => ({
    engines: createMockCluster({ nodes: [0, 1] }).engines,
    teardown: async () => {},
  }),
});

describeUnimemConformance({
  name: 'engine-mock (stub → loopback → dispatcher)',
  setup: async () => ({
    engines: createMockCluster({ nodes: [0, 1] }).engines.map(loopbackEngine),
    teardown: async () => {},
  }),
});

describeUnimemConformance({
  name: 'engine-mock (delayed completions)',
  setup: async () => {
    const cluster = createMockCluster({ nodes: [3, 7, 9] });
    cluster.faults.delayCompletions(2);
    return { engines: cluster.engines, teardown: async () => {} };
  },
});

describeUnimemConformance({
  name: 'engine-mock (stub → transport-shm ring → dispatcher)',
  setup: async () => ({
    engines: createMockCluster({ nodes: [0, 1] }).engines.map(overShmRing),
    teardown: async () => {},
  }),
});

import { describeUnimemConformance, loopbackEngine } from '@vrdma/api-spec/testing';
import { createMockCluster } from './cluster.js';

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

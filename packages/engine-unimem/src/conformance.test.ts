import { describeUnimemConformance, loopbackEngine } from '@vrdma/unimem-api/testing';
import { createLocalCluster } from './local-cluster.js';

describeUnimemConformance({
  name: 'engine-unimem (native)',
  setup: async () => {
    const cluster = createLocalCluster({ nodes: [0, 1] });
    return { engines: cluster.nodes, teardown: () => cluster.shutdown() };
  },
});

describeUnimemConformance({
  name: 'engine-unimem (stub → loopback → dispatcher)',
  setup: async () => {
    const cluster = createLocalCluster({ nodes: [0, 1] });
    return { engines: cluster.nodes.map(loopbackEngine), teardown: () => cluster.shutdown() };
  },
});

describeUnimemConformance({
  name: 'engine-unimem (small chunks, paced, three nodes)',
  setup: async () => {
    const cluster = createLocalCluster({
      nodes: [3, 7, 9],
      config: { dmaChunk: 4096, dmaBurst: 16_384, linkBandwidth: 2e9, pipelineDepth: 2 },
    });
    return { engines: cluster.nodes, teardown: () => cluster.shutdown() };
  },
});

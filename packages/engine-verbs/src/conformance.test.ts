import { describeVerbsConformance, loopbackVerbsEngine } from '@vrdma/verbs-api/testing';
import { createLocalVerbsFabric } from './verbs-fabric.js';

describeVerbsConformance({
  name: 'engine-verbs (native)',
  setup: async () => {
    const fabric = createLocalVerbsFabric({ nodes: [0, 1] });
    return { engines: fabric.devices, teardown: () => fabric.shutdown() };
  },
});

describeVerbsConformance({
  name: 'engine-verbs (stub → loopback → dispatcher)',
  setup: async () => {
    const fabric = createLocalVerbsFabric({ nodes: [0, 1] });
    return {
      engines: fabric.devices.map(loopbackVerbsEngine),
      teardown: () => fabric.shutdown(),
    };
  },
});

describeVerbsConformance({
  name: 'engine-verbs (small DMA chunks, paced, nodes 4 and 9)',
  setup: async () => {
    const fabric = createLocalVerbsFabric({
      nodes: [4, 9],
      engine: { dmaChunk: 4096, dmaBurst: 16_384, linkBandwidth: 2e9, pipelineDepth: 2 },
    });
    return { engines: fabric.devices, teardown: () => fabric.shutdown() };
  },
});

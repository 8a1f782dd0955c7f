import { describeUnimemConformance, loopbackEngine } from '@vrdma/unimem-api/testing';
import { createLocalLibfabricCluster } from './local-cluster.js';

for (const provider of ['tcp', 'shm'] as const) {
  describeUnimemConformance({
    name: `engine-libfabric over ${provider} (native, nodes in one process)`,
    setup: async () => {
      const cluster = createLocalLibfabricCluster({
        nodes: [0, 1],
        config: { provider, iface: 'lo' },
      });
      return { engines: cluster.nodes, teardown: () => cluster.shutdown() };
    },
  });

  describeUnimemConformance({
    name: `engine-libfabric over ${provider} (stub → loopback → dispatcher)`,
    setup: async () => {
      const cluster = createLocalLibfabricCluster({
        nodes: [0, 1, 2],
        config: { provider, iface: 'lo' },
      });
      return { engines: cluster.nodes.map(loopbackEngine), teardown: () => cluster.shutdown() };
    },
  });
}

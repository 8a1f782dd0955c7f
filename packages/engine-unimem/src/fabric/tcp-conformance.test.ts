import { describeUnimemConformance } from '@vrdma/unimem-api/testing';
import { startTcpNode } from '../tcp-node.js';
import { freePorts } from '../test-helpers.js';

/** The same behaviour with every transfer between nodes crossing the TCP fabric. */
describeUnimemConformance({
  name: 'engine-unimem (three nodes over the TCP fabric, one process)',
  setup: async () => {
    const ports = await freePorts(3);
    const cluster = {
      nodes: ports.map((port, i) => ({ id: i + 1, host: '127.0.0.1', port })),
      engine: { segmentSize: 64 * 1024 },
    };
    const nodes = await Promise.all(ports.map((_, i) => startTcpNode({ cluster, node: i + 1 })));
    await Promise.all(nodes.map((n) => n.waitForPeers(5_000)));
    return {
      engines: nodes.map((n) => n.engine),
      teardown: async () => {
        for (const n of nodes) await n.shutdown();
      },
    };
  },
});

/**
 * Runs one node of a cluster described by a JSON file, until interrupted:
 *
 *   npx tsx --conditions=@vrdma/source examples/cluster-node.ts cluster.json 1
 *
 * with cluster.json like
 *   { "nodes": [ { "id": 0, "host": "127.0.0.1", "port": 7100 },
 *                { "id": 1, "host": "127.0.0.1", "port": 7101 } ] }
 */
import { loadClusterConfig } from '../src/cluster-config.js';
import { startTcpNode } from '../src/tcp-node.js';

const [file, id] = process.argv.slice(2);
if (!file || id === undefined) {
  console.error('usage: cluster-node.ts <cluster.json> <node id>');
  process.exit(2);
}
const cluster = loadClusterConfig(file);
const node = await startTcpNode({ cluster, node: Number(id) });
console.log(`node ${id} listening; peers: ${cluster.nodes.map((n) => n.id).join(', ')}`);
const report = setInterval(() => {
  const up = node.engine.reachableNodes();
  const { transfers, bytes } = node.engine.dma.stats;
  console.log(
    `reachable ${up.join(', ')}; ${transfers} transfers, ${bytes} bytes sent or fetched by this node`,
  );
}, 5_000);
process.once('SIGINT', () => {
  clearInterval(report);
  void node.shutdown().then(() => process.exit(0));
});

/**
 * A host process for the remoted conformance suite: an emulated cluster (argv[2]: mock or
 * unimem) of argv[3] nodes, a host serving the Unimem API on each node, each listening on
 * `<argv[4]>/node-<id>.sock`. Prints one JSON line with the sockets, serves until stdin ends.
 */
import { join } from 'node:path';
import { createHost, type Host, type HostListener, listen, service } from '@vrdma/backend';
import { createMockCluster } from '@vrdma/engine-mock';
import { createLocalCluster } from '@vrdma/engine-unimem';
import { type UnimemEngine, unimemSpec } from '@vrdma/unimem-api';

const [kind, count, dir] = process.argv.slice(2);
const nodes = Array.from({ length: Number(count) }, (_, i) => i);
let engines: UnimemEngine[];
let shutdown: () => Promise<void>;
if (kind === 'mock') {
  const cluster = createMockCluster({ nodes });
  engines = nodes.map((n) => cluster.engine(n));
  shutdown = async () => {};
} else {
  const cluster = createLocalCluster({ nodes });
  engines = cluster.nodes;
  shutdown = () => cluster.shutdown();
}
const served: Array<{ host: Host; listener: HostListener }> = [];
for (const engine of engines) {
  const host = createHost({ services: [service(unimemSpec, engine)] });
  const listener = await listen(host, {
    path: join(dir!, `node-${engine.node}.sock`),
    maxPendingAttaches: 64,
  });
  served.push({ host, listener });
}
process.stdout.write(
  `${JSON.stringify({ sockets: served.map((s, i) => ({ node: engines[i]!.node, path: s.listener.path })) })}\n`,
);
process.stdin.resume();
process.stdin.on('end', async () => {
  for (const { host, listener } of served) {
    await host.close();
    await listener.close();
  }
  await shutdown();
  process.exit(0);
});

/**
 * A host process for the remoted verbs conformance suite: an emulated fabric of argv[2] nodes,
 * on each a host serving both Unimem and verbs, listening on `<argv[3]>/node-<id>.sock`.
 * Prints one JSON line with the sockets, serves until stdin ends.
 */
import { join } from 'node:path';
import { createHost, type Host, type HostListener, listen, service } from '@vrdma/backend';
import { createLocalVerbsFabric } from '@vrdma/engine-verbs';
import { unimemSpec } from '@vrdma/unimem-api';
import { verbsSpec } from '@vrdma/verbs-api';

const [count, dir] = process.argv.slice(2);
const fabric = createLocalVerbsFabric({
  nodes: Array.from({ length: Number(count) }, (_, i) => i),
});
const served: Array<{ node: number; host: Host; listener: HostListener }> = [];
for (const device of fabric.devices) {
  const host = createHost({
    services: [service(unimemSpec, device.unimem), service(verbsSpec, device)],
  });
  const listener = await listen(host, {
    path: join(dir!, `node-${device.node}.sock`),
    maxPendingAttaches: 64,
  });
  served.push({ node: device.node, host, listener });
}
process.stdout.write(
  `${JSON.stringify({ sockets: served.map((s) => ({ node: s.node, path: s.listener.path })) })}\n`,
);
process.stdin.resume();
process.stdin.on('end', async () => {
  for (const { host, listener } of served) {
    await host.close();
    await listener.close();
  }
  await fabric.shutdown();
  process.exit(0);
});

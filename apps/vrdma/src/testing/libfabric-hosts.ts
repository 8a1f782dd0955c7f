import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteEngine } from './remote-engine.js';
import { startCli, waitForOutput } from './run-cli.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Three processes: two `vrdma host --engine libfabric` processes, each one node of a cluster
 * file joined over loopback, and this one attaching to both as process guests (frontend,
 * virtio + shm rings, backend). Data between the nodes goes through libfabric.
 */
export async function startLibfabricHosts(provider: 'tcp' | 'shm') {
  const dir = mkdtempSync(join(tmpdir(), 'vrdma-lf-conformance-'));
  const nodes = [0, 1];
  const ports = [await freePort(), await freePort()];
  const clusterFile = join(dir, 'cluster.json');
  writeFileSync(
    clusterFile,
    JSON.stringify({
      provider,
      iface: 'lo',
      nodes: nodes.map((node, i) => ({ node, control: `127.0.0.1:${ports[i]}` })),
    }),
  );
  const hosts: ChildProcess[] = [];
  const sockets = nodes.map((node) => join(dir, `node-${node}.sock`));
  for (const node of nodes) {
    const host = startCli([
      'host',
      '--engine',
      'libfabric',
      '--provider',
      provider,
      '--cluster',
      clusterFile,
      '--node',
      String(node),
      '--socket',
      sockets[node]!,
    ]);
    host.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    hosts.push(host);
  }
  await Promise.all(hosts.map((h) => waitForOutput(h, 'listening on', 60_000)));
  return {
    hosts,
    engines: nodes.map((node) => remoteEngine(node, sockets[node]!)),
    teardown: async () => {
      await Promise.all(
        hosts.map((h) => {
          if (h.exitCode !== null || h.signalCode !== null) return undefined;
          const exited = new Promise((resolve) => h.once('exit', resolve));
          h.kill('SIGTERM');
          return exited;
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

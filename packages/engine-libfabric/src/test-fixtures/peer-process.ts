import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClusterFile } from '../bootstrap/cluster-file.js';

const PEER_NODE = fileURLToPath(new URL('./peer-node.ts', import.meta.url));

/** Ports free right now on loopback, for a cluster file. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export async function loopbackCluster(provider: string, nodes: number[]): Promise<ClusterFile> {
  const ports = await freePorts(nodes.length);
  return {
    provider,
    iface: 'lo',
    nodes: nodes.map((node, i) => ({ node, control: `127.0.0.1:${ports[i]}` })),
  };
}

/** A node in a child process (peer-node.ts) exporting one buffer, driven over its stdio. */
export interface PeerProcess {
  child: ChildProcess;
  key: number;
  address: bigint;
  /** Sends one command line and resolves with the next line the peer prints. */
  ask(line: string): Promise<string>;
  /** Waits for the process to be gone. */
  exited: Promise<void>;
}

export async function startPeerProcess(
  cluster: ClusterFile,
  node: number,
  bufferSize: number,
): Promise<PeerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@vrdma/source',
      PEER_NODE,
      JSON.stringify(cluster),
      String(node),
      String(bufferSize),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: Interface = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const readers: Array<(line: string) => void> = [];
  lines.on('line', (line) => {
    const reader = readers.shift();
    if (reader) reader(line);
    else queue.push(line);
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const line = queue.shift();
      if (line !== undefined) return resolve(line);
      readers.push(resolve);
      exited.then(() => reject(new Error(`peer node ${node} exited`)));
    });
  const ready = JSON.parse(await next()) as { key: number; address: string };
  return {
    child,
    key: ready.key,
    address: BigInt(ready.address),
    ask: (line) => {
      child.stdin!.write(`${line}\n`);
      return next();
    },
    exited,
  };
}

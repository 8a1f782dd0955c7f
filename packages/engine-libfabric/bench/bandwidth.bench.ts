/**
 * Write bandwidth by transfer size between two processes: engine-libfabric over tcp;ofi_rxm
 * and over shm, beside engine-unimem's own TCP fabric, with Buffer.copy (memory's limit) and
 * fi_pingpong (libfabric's own tool, tcp and shm, send/recv) as references. Everything runs
 * in one run; the machine is shared and noisy, so read the ratios. Short by design.
 *
 *   npm run bench -w @vrdma/engine-libfabric
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Handle } from '@vrdma/api-spec';
import { startTcpNode } from '@vrdma/engine-unimem';
import type { GlobalAddress, UnimemSession } from '@vrdma/unimem-api';
import { startLibfabricNode } from '../src/index.js';
import { freePorts, loopbackCluster, startPeerProcess } from '../src/test-fixtures/peer-process.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [4 * KiB, 64 * KiB, MiB, 16 * MiB];
const BUFFER = 16 * MiB;
const DEPTH = 16;
const REPEATS = 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const gbps = (bytes: number, ms: number) => bytes / ms / 1e6;
const countFor = (size: number) => Math.max(16, Math.min(4000, Math.floor((128 * MiB) / size)));

interface Pair {
  name: string;
  session: UnimemSession;
  remote: GlobalAddress;
  key: number;
  close(): Promise<void>;
}

/** Keeps `DEPTH` writes in flight until `count` finished; returns the milliseconds. */
async function pump(pair: Pair, size: number, count: number): Promise<number> {
  const { session } = pair;
  const source = await session.alloc({ size });
  const { channel } = await session.openChannel({ depth: DEPTH });
  const write = () =>
    session.write({ channel, local: source.ref, remote: pair.remote, key: pair.key });
  let posted = 0;
  let reaped = 0;
  const start = performance.now();
  while (reaped < count) {
    while (posted < count && posted - reaped < DEPTH) {
      await write();
      posted++;
    }
    const { completions } = await session.wait({
      channel: channel as Handle<'Channel'>,
      timeoutMs: 10_000,
    });
    for (const c of completions)
      if (c.status !== 'ok') throw new Error(`${pair.name}: ${c.status}`);
    reaped += completions.length;
  }
  const ms = performance.now() - start;
  await session.closeChannel({ channel });
  await session.free({ buffer: source.buffer });
  return ms;
}

async function libfabricPair(provider: 'tcp' | 'shm'): Promise<Pair> {
  const cluster = await loopbackCluster(provider, [0, 1]);
  const starting = startPeerProcess(cluster, 1, BUFFER);
  const local = await startLibfabricNode({ node: 0, cluster, config: { sessionMemory: 64 * MiB } });
  const peer = await starting;
  await local.whenConnected();
  const session = local.engine.openSession();
  await session.open();
  return {
    name: `libfabric ${local.engine.provider}`,
    session,
    remote: peer.address as GlobalAddress,
    key: peer.key,
    close: async () => {
      peer.child.stdin!.end();
      await peer.exited;
      await local.close();
    },
  };
}

async function unimemPair(): Promise<Pair> {
  const [a, b] = await freePorts(2);
  const cluster = {
    nodes: [
      { id: 0, host: '127.0.0.1', port: a },
      { id: 1, host: '127.0.0.1', port: b },
    ],
  };
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@vrdma/source',
      fileURLToPath(new URL('./unimem-peer.ts', import.meta.url)),
      JSON.stringify(cluster),
      String(BUFFER),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const local = await startTcpNode({ cluster, node: 0, config: { sessionMemory: 64 * MiB } });
  const first = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once('line', resolve),
  );
  const ready = JSON.parse(first) as { key: number; address: string };
  const session = local.engine.openSession();
  await session.open();
  return {
    name: 'engine-unimem TCP fabric',
    session,
    remote: BigInt(ready.address) as GlobalAddress,
    key: ready.key,
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
      await local.shutdown();
    },
  };
}

function copyMs(size: number, count: number): number {
  const src = Buffer.alloc(BUFFER, 0x5a);
  const dst = Buffer.alloc(BUFFER);
  const start = performance.now();
  for (let i = 0; i < count; i++) src.copy(dst, 0, 0, size);
  return performance.now() - start;
}

/** fi_pingpong's MB/sec for one size (server and client over loopback), or undefined. */
async function fiPingpong(provider: string, size: number): Promise<number | undefined> {
  const [port] = await freePorts(1);
  const args = ['-p', provider, '-e', 'rdm', '-I', '50', '-S', String(size)];
  const env = { ...process.env, FI_TCP_IFACE: 'lo' };
  const server = spawn('fi_pingpong', [...args, '-B', String(port)], { env, stdio: 'ignore' });
  server.on('error', () => {});
  await new Promise((resolve) => setTimeout(resolve, 300));
  const output = await new Promise<string>((resolve) =>
    execFile(
      'fi_pingpong',
      [...args, '-P', String(port), '127.0.0.1'],
      { env, timeout: 20_000 },
      (_e, stdout) => resolve(stdout ?? ''),
    ),
  );
  server.kill();
  const row = output
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((cells) => cells.length >= 8 && /^\d/.test(cells[0] ?? ''));
  // Columns: bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec
  const mbps = row ? Number(row[5]) : Number.NaN;
  return Number.isFinite(mbps) ? mbps / 1e3 : undefined;
}

const label = (size: number) => (size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`);
const cell = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(2));

async function main(): Promise<void> {
  const pairs = [await libfabricPair('tcp'), await libfabricPair('shm'), await unimemPair()];
  console.log('write bandwidth between two processes on loopback, GB/s (1e9 bytes/s)');
  console.log(
    `channel depth ${DEPTH}; median of ${REPEATS}; fi_pingpong is send/recv, one in flight\n`,
  );
  const header = [
    'size'.padEnd(8),
    'Buffer.copy'.padStart(12),
    ...pairs.map((p) => p.name.padStart(26)),
    'fi_pingpong tcp'.padStart(16),
    'fi_pingpong shm'.padStart(16),
    'lf-tcp/unimem'.padStart(14),
  ];
  console.log(header.join(''));
  for (const size of SIZES) {
    const count = countFor(size);
    const results: number[] = [];
    for (const pair of pairs) {
      await pump(pair, size, Math.min(count, 32));
      const runs: number[] = [];
      for (let r = 0; r < REPEATS; r++) runs.push(await pump(pair, size, count));
      results.push(gbps(size * count, median(runs)));
    }
    const copy = gbps(size * count, median([0, 1, 2].map(() => copyMs(size, count))));
    const pingTcp = await fiPingpong('tcp', size);
    const pingShm = await fiPingpong('shm', size);
    console.log(
      [
        label(size).padEnd(8),
        cell(copy).padStart(12),
        ...results.map((r) => cell(r).padStart(26)),
        cell(pingTcp).padStart(16),
        cell(pingShm).padStart(16),
        cell(results[0]! / results[2]!).padStart(14),
      ].join(''),
    );
  }
  for (const pair of pairs) await pair.close();
}

await main();

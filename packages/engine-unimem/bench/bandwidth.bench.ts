/**
 * Native write bandwidth of the emulated engine by transfer size, next to a plain
 * Buffer.copy of the same sizes between the same memory (the physical limit), then
 * small-transfer operations per second. Both sides run in this one process, in one run, and
 * the ratios are printed: the machine is shared and noisy, only ratios mean much.
 *
 *   npm run bench -w @vrdma/engine-unimem
 */
import { createServer } from 'node:net';
import type { Handle } from '@vrdma/api-spec';
import type { GlobalAddress, UnimemSession } from '@vrdma/unimem-api';
import { DEFAULT_ENGINE_CONFIG } from '../src/config.js';
import { createLocalCluster } from '../src/local-cluster.js';
import { startTcpNode } from '../src/tcp-node.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [
  64,
  256,
  KiB,
  4 * KiB,
  16 * KiB,
  64 * KiB,
  256 * KiB,
  MiB,
  4 * MiB,
  16 * MiB,
  64 * MiB,
];
const REPEATS = 3;
const DEPTH = 64;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function iterationsFor(size: number, totalBytes = 512 * MiB, most = 40_000): number {
  return Math.max(8, Math.min(most, Math.floor(totalBytes / size)));
}

interface Target {
  session: UnimemSession;
  channel: Handle<'Channel'>;
  local: { region: number; offset: number; length: number };
  remote: GlobalAddress;
  key: number;
}

/** Keeps the channel full: post until DEPTH are outstanding, reap what finished, repeat. */
async function pump(t: Target, size: number, count: number): Promise<number> {
  const local = { ...t.local, length: size };
  let posted = 0;
  let reaped = 0;
  const start = performance.now();
  while (reaped < count) {
    while (posted < count && posted - reaped < DEPTH) {
      await t.session.write({ channel: t.channel, local, remote: t.remote, key: t.key });
      posted++;
    }
    const { completions } = await t.session.wait({ channel: t.channel, timeoutMs: 10_000 });
    for (const c of completions) if (c.status !== 'ok') throw new Error(`transfer ${c.status}`);
    reaped += completions.length;
  }
  return performance.now() - start;
}

/** Buffer.copy in pieces of the engine's DMA chunk, as the engine itself copies. */
function chunkedBaseline(src: Buffer, dst: Buffer, size: number, count: number): number {
  const chunk = DEFAULT_ENGINE_CONFIG.dmaChunk;
  const start = performance.now();
  for (let i = 0; i < count; i++)
    for (let at = 0; at < size; at += chunk) src.copy(dst, at, at, Math.min(size, at + chunk));
  return performance.now() - start;
}

function copyBaseline(src: Buffer, dst: Buffer, size: number, count: number): number {
  const start = performance.now();
  for (let i = 0; i < count; i++) src.copy(dst, 0, 0, size);
  return performance.now() - start;
}

async function setupTarget(
  a: UnimemSession,
  b: UnimemSession,
  size: number,
): Promise<Target & { sourceBytes: Uint8Array; targetBytes: Uint8Array }> {
  await a.open();
  await b.open();
  const source = await a.alloc({ size });
  const target = await b.alloc({ size });
  const { key, address } = await b.exportBuffer({ buffer: target.buffer, access: 'write' });
  const { channel } = await a.openChannel({ depth: DEPTH });
  a.view(source.ref).fill(0x5a);
  return {
    session: a,
    channel,
    local: source.ref,
    remote: address,
    key,
    sourceBytes: a.view(source.ref),
    targetBytes: b.view(target.ref),
  };
}

const gbps = (bytes: number, ms: number) => bytes / ms / 1e6;

async function main(): Promise<void> {
  // One transfer in flight per channel: with more, transfers over the same bytes interleave
  // chunk by chunk and copy from cache, which flatters the engine at large sizes.
  const cluster = createLocalCluster({
    nodes: [0, 1],
    config: { sessionMemory: 80 * MiB, pipelineDepth: 1 },
  });
  const t = await setupTarget(
    cluster.node(0).openSession(),
    cluster.node(1).openSession(),
    64 * MiB,
  );
  const src = Buffer.from(t.sourceBytes.buffer, t.sourceBytes.byteOffset, t.sourceBytes.length);
  const dst = Buffer.from(t.targetBytes.buffer, t.targetBytes.byteOffset, t.targetBytes.length);

  console.log(
    'engine-unimem native write bandwidth (node 0 → node 1, in process, pipeline depth 1)',
  );
  console.log(`channel depth ${DEPTH}; median of ${REPEATS} runs; GB/s = 1e9 bytes per second\n`);
  console.log(
    'size        count   Buffer.copy GB/s   chunked copy GB/s   engine GB/s   engine/copy   engine/chunked',
  );
  for (const size of SIZES) {
    const count = iterationsFor(size);
    const copyMs: number[] = [];
    const chunkedMs: number[] = [];
    const engineMs: number[] = [];
    copyBaseline(src, dst, size, Math.min(count, 100));
    await pump(t, size, Math.min(count, 100));
    for (let r = 0; r < REPEATS; r++) {
      copyMs.push(copyBaseline(src, dst, size, count));
      chunkedMs.push(chunkedBaseline(src, dst, size, count));
      engineMs.push(await pump(t, size, count));
    }
    const base = gbps(size * count, median(copyMs));
    const chunked = gbps(size * count, median(chunkedMs));
    const engine = gbps(size * count, median(engineMs));
    console.log(
      label(size).padEnd(10) +
        String(count).padStart(7) +
        base.toFixed(2).padStart(19) +
        chunked.toFixed(2).padStart(20) +
        engine.toFixed(2).padStart(14) +
        (engine / base).toFixed(3).padStart(14) +
        (engine / chunked).toFixed(3).padStart(17),
    );
  }

  console.log('\nsmall transfers (64 B writes, channel kept full, completions reaped in batches)');
  const ops = 200_000;
  const opsRuns: number[] = [];
  const copyRuns: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    opsRuns.push((ops / (await pump(t, 64, ops))) * 1000);
    copyRuns.push((ops / copyBaseline(src, dst, 64, ops)) * 1000);
  }
  const engineOps = median(opsRuns);
  const copyOps = median(copyRuns);
  console.log(`Buffer.copy of 64 B: ${fmt(copyOps)} ops/s`);
  console.log(
    `engine 64 B writes:  ${fmt(engineOps)} ops/s  (${(1e6 / engineOps).toFixed(2)} µs per transfer)`,
  );
  console.log(`engine/copy:         ${(engineOps / copyOps).toFixed(4)}`);
  await cluster.shutdown();

  await fabricBandwidth();
}

/** The same measurement between two nodes joined by the TCP fabric on 127.0.0.1. */
async function fabricBandwidth(): Promise<void> {
  const ports = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<number>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as { port: number };
            server.close(() => resolve(port));
          });
        }),
    ),
  );
  const cluster = {
    nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })),
    engine: { sessionMemory: 80 * MiB },
  };
  const [n0, n1] = await Promise.all([0, 1].map((node) => startTcpNode({ cluster, node })));
  await Promise.all([n0!.waitForPeers(10_000), n1!.waitForPeers(10_000)]);
  const t = await setupTarget(n0!.engine.openSession(), n1!.engine.openSession(), 64 * MiB);
  console.log(
    '\nfor comparison: the TCP fabric (node 0 → node 1, two nodes in this process, 127.0.0.1)',
  );
  console.log('size        count   fabric GB/s');
  for (const size of [4 * KiB, 64 * KiB, MiB, 16 * MiB, 64 * MiB]) {
    const count = iterationsFor(size, 256 * MiB, 20_000);
    await pump(t, size, Math.min(count, 50));
    const ms: number[] = [];
    for (let r = 0; r < REPEATS; r++) ms.push(await pump(t, size, count));
    console.log(
      `${label(size).padEnd(10)}${String(count).padStart(7)}${gbps(size * count, median(ms))
        .toFixed(2)
        .padStart(14)}`,
    );
  }
  await n0!.shutdown();
  await n1!.shutdown();
}

function label(size: number): string {
  if (size >= MiB) return `${size / MiB} MiB`;
  if (size >= KiB) return `${size / KiB} KiB`;
  return `${size} B`;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

await main();

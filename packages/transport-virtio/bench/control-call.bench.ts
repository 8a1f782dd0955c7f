/**
 * Control-call cost over the virtio control plane, next to the same call native, through the
 * loopback link (the whole remoting path, no transport) and over transport-shm's polled ring,
 * in one run. Guests run in a worker thread or in a child process, the host in this process.
 *
 *   npm run bench -w @vrdma/transport-virtio      (CALLS=4000 ROUNDS=5 WARMUP=500 by default)
 *
 * Each guest is a fresh thread or process: its code is cold for its first few thousand calls,
 * and a polling side's window settles meanwhile; WARMUP=5000 measures the steady state.
 * "no polling" rows turn busy polling off on both sides (pollBudgetUs: 0), as before it was.
 */
import type { ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createDispatcher, createLoopbackLink, createStub } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { createMemfdRegion, type MemfdRegion } from '@vrdma/memory';
import {
  attachThreadGuest,
  channelBytes,
  DEFAULT_RING_SHAPE,
  initChannel,
} from '@vrdma/transport-shm';
import { type UnimemSession, unimemSpec } from '@vrdma/unimem-api';
import { forkWithRegions } from '../src/child-with-regions.fixture.js';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '../src/constants.js';
import { createThreadRegion, threadDoorbells } from '../src/echo-fixture.js';
import { featureBit } from '../src/features.js';
import { createVirtioServerTransport } from '../src/server-transport.js';
import { threadShmDoorbell } from '../src/shm-doorbell.js';
import { streamNotificationSource, streamNotifier } from '../src/stream-doorbell.js';
import { shmHostOnSocket } from './shm-process-host.js';
import type { GuestReport } from './timed-calls.js';

const CALLS = Number(process.env.CALLS ?? 4000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? Math.min(CALLS, 500));

interface Run {
  nsPerCall: number;
  kicksPerCall: number;
  interruptsPerCall: number;
}

interface Mode {
  name: string;
  burst: number;
  run(burst: number): Promise<Run>;
}

async function openSession(): Promise<UnimemSession> {
  const session = createMockCluster({ nodes: [0, 1] }).engines[0]!.openSession();
  await session.open();
  return session;
}

async function timeInProcess(call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await call();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await call();
  return Number(process.hrtime.bigint() - start) / CALLS;
}

function worker(entry: string, data: Record<string, unknown>): Worker {
  return new Worker(new URL('../src/ts-worker-bootstrap.mjs', import.meta.url), {
    execArgv: ['--conditions=@vrdma/source'],
    workerData: { entry: new URL(entry, import.meta.url).href, ...data },
  });
}

function reportOf(guest: Worker | ChildProcess): Promise<GuestReport> {
  return new Promise((resolve, reject) => {
    guest.once('message', (m) => resolve(m as GuestReport));
    guest.once('error', reject);
  });
}

/**
 * A guest process whose memory is `region`, sent as a descriptor over the socket pair it
 * shares with this process (which then closes its own); doorbells are bytes on that socket.
 */
function processGuest(entry: string, region: MemfdRegion, args: string[]) {
  const { child, socket } = forkWithRegions(
    new URL(entry, import.meta.url),
    args,
    [{ id: region.id, size: region.size, kind: 'memfd' }],
    [region.fd],
  );
  region.close();
  return { child, socket };
}

function runOf(report: GuestReport, interrupts: number): Run {
  return {
    nsPerCall: report.nsPerCall,
    kicksPerCall: report.kicks / report.messages,
    // Interrupts are counted on the host over warm-up and run together.
    interruptsPerCall: interrupts / (WARMUP + CALLS),
  };
}

async function virtioProcess(burst: number, pollBudgetUs?: number): Promise<Run> {
  const session = await openSession();
  const region = createMemfdRegion(1, 1 << 19, 'vrdma-bench');
  const guest = processGuest('./virtio-process-guest.ts', region, [
    String(CALLS),
    String(burst),
    String(pollBudgetUs ?? ''),
  ]);
  const server = createVirtioServerTransport({
    region,
    kicks: streamNotificationSource(guest.socket),
    interrupts: streamNotifier(guest.socket),
    ...(pollBudgetUs === undefined ? {} : { pollBudgetUs }),
  });
  server.serve(createDispatcher(unimemSpec, session).handle);
  const report = await reportOf(guest.child);
  const interrupts = server.metrics.doorbells;
  await new Promise((resolve) => guest.child.once('exit', resolve));
  await server.close();
  return runOf(report, interrupts);
}

async function shmProcess(burst: number): Promise<Run> {
  const session = await openSession();
  const shape = DEFAULT_RING_SHAPE;
  const channel = createMemfdRegion(0, channelBytes(shape), 'vrdma-bench-channel');
  initChannel(channel.bytes.buffer, shape);
  const guest = processGuest('./shm-process-guest.ts', channel, [String(CALLS), String(burst)]);
  const transport = shmHostOnSocket(channel, shape, guest.socket);
  transport.serve(createDispatcher(unimemSpec, session).handle);
  const report = await reportOf(guest.child);
  const run = runOf(report, transport.metrics.doorbells);
  await new Promise((resolve) => guest.child.once('exit', resolve));
  await transport.close();
  return run;
}

/** `pollBudgetUs` on both sides (0: no polling, every call kicks and interrupts); default if absent. */
async function virtio(
  eventIdx: boolean,
  doorbell: 'atomics' | 'shm',
  burst: number,
  pollBudgetUs?: number,
): Promise<Run> {
  const session = await openSession();
  const region = createThreadRegion();
  const bells = threadDoorbells(region);
  const shmBell = doorbell === 'shm' ? threadShmDoorbell(region, 'device') : undefined;
  const server = createVirtioServerTransport({
    region,
    kicks: shmBell ?? bells.kick,
    interrupts: shmBell ?? bells.interrupt,
    ...(pollBudgetUs === undefined ? {} : { pollBudgetUs }),
  });
  server.serve(createDispatcher(unimemSpec, session).handle);
  const features =
    featureBit(VIRTIO_F_VERSION_1) |
    featureBit(VIRTIO_RING_F_INDIRECT_DESC) |
    (eventIdx ? featureBit(VIRTIO_RING_F_EVENT_IDX) : 0n);
  const guest = worker('./virtio-guest.ts', {
    buffer: region.bytes.buffer,
    features,
    burst,
    calls: CALLS,
    doorbell,
    pollBudgetUs,
  });
  const report = await reportOf(guest);
  const interrupts = server.metrics.doorbells;
  await guest.terminate();
  await server.close();
  return runOf(report, interrupts);
}

async function shmRing(burst: number): Promise<Run> {
  const session = await openSession();
  const guest = worker('./shm-guest.ts', { burst, calls: CALLS });
  const { transport } = attachThreadGuest(guest);
  transport.serve(createDispatcher(unimemSpec, session).handle);
  const report = await reportOf(guest);
  const interrupts = transport.metrics.doorbells;
  await guest.terminate();
  await transport.close();
  return runOf(report, interrupts);
}

const modes: Mode[] = [];
for (const burst of [1, 16]) {
  const when = burst === 1 ? 'one at a time' : 'bursts of 16';
  modes.push(
    { name: `virtio, no polling, ${when}`, burst, run: (b) => virtio(true, 'atomics', b, 0) },
    { name: `virtio, EVENT_IDX, ${when}`, burst, run: (b) => virtio(true, 'atomics', b) },
    { name: `virtio, flags, ${when}`, burst, run: (b) => virtio(false, 'atomics', b) },
    { name: `virtio, EVENT_IDX, shm bell, ${when}`, burst, run: (b) => virtio(true, 'shm', b) },
    { name: `shm ring (polled), ${when}`, burst, run: (b) => shmRing(b) },
    { name: `process: virtio, no polling, ${when}`, burst, run: (b) => virtioProcess(b, 0) },
    { name: `process: virtio, memfd, ${when}`, burst, run: (b) => virtioProcess(b) },
    { name: `process: shm ring, memfd, ${when}`, burst, run: (b) => shmProcess(b) },
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const session = await openSession();
const stub = createStub(unimemSpec, createLoopbackLink(createDispatcher(unimemSpec, session)));
const native: number[] = [];
const loopback: number[] = [];
const runs = new Map<string, Run[]>();
for (let round = 0; round < ROUNDS; round++) {
  native.push(await timeInProcess(() => session.query()));
  loopback.push(await timeInProcess(() => stub.query()));
  for (const mode of modes) {
    const list = runs.get(mode.name) ?? [];
    list.push(await mode.run(mode.burst));
    runs.set(mode.name, list);
  }
}

const nativeNs = median(native);
const loopbackNs = median(loopback);
const cell = (value: string, width: number) => value.padStart(width);
const us = (ns: number) => cell((ns / 1000).toFixed(2), 8);
console.log(`query() control call, ${CALLS} calls x ${ROUNDS} rounds, medians (us per call)`);
console.log(`${'path'.padEnd(42)}  us/call  x native  x loopback  kicks/call  irqs/call`);
console.log(`${'native (engine in-process)'.padEnd(42)} ${us(nativeNs)}  ${cell('1.0', 8)}`);
console.log(
  `${'loopback (stub -> dispatcher, no link)'.padEnd(42)} ${us(loopbackNs)}  ${cell((loopbackNs / nativeNs).toFixed(1), 8)}  ${cell('1.0', 9)}`,
);
for (const mode of modes) {
  const list = runs.get(mode.name)!;
  const ns = median(list.map((r) => r.nsPerCall));
  console.log(
    `${mode.name.padEnd(42)} ${us(ns)}  ${cell((ns / nativeNs).toFixed(1), 8)}  ${cell((ns / loopbackNs).toFixed(1), 9)}  ${cell(median(list.map((r) => r.kicksPerCall)).toFixed(3), 10)}  ${cell(median(list.map((r) => r.interruptsPerCall)).toFixed(3), 9)}`,
  );
}

/**
 * Control-call cost over the virtio control plane, next to the same call native and through
 * the loopback link (the whole remoting path with no transport), in one run.
 *
 *   npm run bench -w @vrdma/transport-virtio
 */
import { Worker } from 'node:worker_threads';
import {
  createDispatcher,
  createLoopbackLink,
  createStub,
  type UnimemSession,
  unimemSpec,
} from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '../src/constants.js';
import { createThreadRegion, threadDoorbells } from '../src/echo-fixture.js';
import { featureBit } from '../src/features.js';
import { createVirtioServerTransport } from '../src/server-transport.js';

const CALLS = Number(process.env.CALLS ?? 4000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

async function openSession(): Promise<UnimemSession> {
  const session = createMockCluster({ nodes: [0, 1] }).engines[0]!.openSession();
  await session.open();
  return session;
}

async function timeInProcess(call: () => Promise<unknown>, calls: number): Promise<number> {
  for (let i = 0; i < 500; i++) await call();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call();
  return Number(process.hrtime.bigint() - start) / calls;
}

interface VirtioRun {
  nsPerCall: number;
  kicksPerCall: number;
  interruptsPerCall: number;
}

async function timeVirtio(eventIdx: boolean, burst: number): Promise<VirtioRun> {
  const session = await openSession();
  const region = createThreadRegion();
  const bells = threadDoorbells(region);
  const server = createVirtioServerTransport({
    region,
    kicks: bells.kick,
    interrupts: bells.interrupt,
  });
  server.serve(createDispatcher(unimemSpec, session).handle);
  const features =
    featureBit(VIRTIO_F_VERSION_1) |
    featureBit(VIRTIO_RING_F_INDIRECT_DESC) |
    (eventIdx ? featureBit(VIRTIO_RING_F_EVENT_IDX) : 0n);
  const worker = new Worker(new URL('../src/ts-worker-bootstrap.mjs', import.meta.url), {
    execArgv: ['--conditions=@vrdma/source'],
    workerData: {
      entry: new URL('./virtio-guest.ts', import.meta.url).href,
      buffer: region.bytes.buffer,
      features,
      burst,
      calls: CALLS,
    },
  });
  const interruptsAtStart = () => server.metrics.doorbells;
  let warmInterrupts = 0;
  const report = await new Promise<{ nsPerCall: number; kicks: number; messages: number }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    },
  );
  warmInterrupts = interruptsAtStart();
  await worker.terminate();
  await server.close();
  const total = Math.min(CALLS, 500) + CALLS;
  return {
    nsPerCall: report.nsPerCall,
    kicksPerCall: report.kicks / report.messages,
    // Interrupts are counted on the host over warm-up and run together.
    interruptsPerCall: warmInterrupts / total,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const us = (ns: number) => (ns / 1000).toFixed(2).padStart(8);

const session = await openSession();
const stub = createStub(unimemSpec, createLoopbackLink(createDispatcher(unimemSpec, session)));
const native: number[] = [];
const loopback: number[] = [];
const virtio = new Map<string, VirtioRun[]>();
const modes = [
  { name: 'virtio, EVENT_IDX, one at a time', eventIdx: true, burst: 1 },
  { name: 'virtio, flags, one at a time', eventIdx: false, burst: 1 },
  { name: 'virtio, EVENT_IDX, bursts of 16', eventIdx: true, burst: 16 },
  { name: 'virtio, flags, bursts of 16', eventIdx: false, burst: 16 },
];
for (let round = 0; round < ROUNDS; round++) {
  native.push(await timeInProcess(() => session.query(), CALLS));
  loopback.push(await timeInProcess(() => stub.query(), CALLS));
  for (const mode of modes) {
    const runs = virtio.get(mode.name) ?? [];
    runs.push(await timeVirtio(mode.eventIdx, mode.burst));
    virtio.set(mode.name, runs);
  }
}

const nativeNs = median(native);
const loopbackNs = median(loopback);
console.log(`query() control call, ${CALLS} calls x ${ROUNDS} rounds, medians`);
console.log(
  'path                                   us/call   x native  x loopback  kicks/call  irqs/call',
);
console.log(`native (engine in-process)            ${us(nativeNs)}   ${'1.0'.padStart(8)}`);
console.log(
  `loopback (stub→dispatcher, no link)   ${us(loopbackNs)}   ${(loopbackNs / nativeNs).toFixed(1).padStart(8)}  ${'1.0'.padStart(9)}`,
);
for (const mode of modes) {
  const runs = virtio.get(mode.name)!;
  const ns = median(runs.map((r) => r.nsPerCall));
  const kicks = median(runs.map((r) => r.kicksPerCall));
  const irqs = median(runs.map((r) => r.interruptsPerCall));
  console.log(
    `${mode.name.padEnd(37)} ${us(ns)}   ${(ns / nativeNs).toFixed(1).padStart(8)}  ${(ns / loopbackNs).toFixed(1).padStart(9)}  ${kicks.toFixed(3).padStart(10)}  ${irqs.toFixed(3).padStart(9)}`,
  );
}
console.log('transport-shm ring: not measured here (see the package README).');

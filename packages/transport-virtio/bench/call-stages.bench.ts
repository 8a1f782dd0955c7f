/**
 * Where a control call's time goes, stage by stage: a `query()` on engine-mock through the
 * spec-derived stub, guest in a worker thread, host here, Atomics doorbells, EVENT_IDX, one
 * call at a time; busy polling off, then on. Median and mean of each stage over the timed calls.
 *
 *   npm run bench:stages -w @vrdma/transport-virtio      (CALLS=4000 WARMUP=500 by default)
 */
import { Worker } from 'node:worker_threads';
import { createDispatcher, type FrameHandler } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import type { PollState } from '../src/busy-poller.js';
import { VirtqueueDevice } from '../src/device.js';
import { createThreadRegion, threadDoorbells } from '../src/echo-fixture.js';
import { createVirtioServerTransport } from '../src/server-transport.js';
import { type Stage, stageBuffer, stageClock } from './call-stages.js';

const CALLS = Number(process.env.CALLS ?? 4000);
const WARMUP = Number(process.env.WARMUP ?? 500);

const SPANS: Array<[string, Stage, Stage]> = [
  ['encode (stub)', 'start', 'call'],
  ['virtqueue publish (to avail idx)', 'call', 'published'],
  ['host pickup', 'published', 'popped'],
  ['dispatch (decode, to engine)', 'popped', 'dispatched'],
  ['engine and reply encode', 'dispatched', 'replied'],
  ['reply into the used ring', 'replied', 'pushed'],
  ['driver pickup', 'pushed', 'reaped'],
  ['decode and resume (stub)', 'reaped', 'resumed'],
  ['whole call', 'start', 'resumed'],
];

/** The host's stage marks, found by counting pops and pushes (one call at a time). */
let clock: ReturnType<typeof stageClock> | undefined;
let popped = 0;
let pushed = 0;
const pop = VirtqueueDevice.prototype.pop;
VirtqueueDevice.prototype.pop = function (this: VirtqueueDevice) {
  const chain = pop.call(this);
  if (chain) clock?.mark(popped++, 'popped');
  return chain;
};
const pushUsed = VirtqueueDevice.prototype.pushUsed;
VirtqueueDevice.prototype.pushUsed = function (this: VirtqueueDevice, chain, written) {
  pushUsed.call(this, chain, written);
  clock?.mark(pushed++, 'pushed');
};

function marked(handle: FrameHandler): FrameHandler {
  return (frame) => {
    const call = popped - 1;
    const reply = handle(frame);
    clock?.mark(call, 'dispatched');
    if (reply instanceof Uint8Array) clock?.mark(call, 'replied');
    else void reply.then(() => clock?.mark(call, 'replied'));
    return reply;
  };
}

async function run(pollBudgetUs: number | undefined) {
  const session = createMockCluster({ nodes: [0, 1] }).engines[0]!.openSession();
  await session.open();
  const stages = stageBuffer(WARMUP + CALLS);
  clock = stageClock(stages);
  popped = 0;
  pushed = 0;
  const region = createThreadRegion();
  const bells = threadDoorbells(region);
  const server = createVirtioServerTransport({
    region,
    kicks: bells.kick,
    interrupts: bells.interrupt,
    ...(pollBudgetUs === undefined ? {} : { pollBudgetUs }),
  });
  server.serve(marked(createDispatcher(unimemSpec, session).handle));
  const guest = new Worker(new URL('../src/ts-worker-bootstrap.mjs', import.meta.url), {
    execArgv: ['--conditions=@vrdma/source'],
    workerData: {
      entry: new URL('./call-stages-guest.ts', import.meta.url).href,
      buffer: region.bytes.buffer,
      stages,
      calls: WARMUP + CALLS,
      pollBudgetUs,
    },
  });
  const { kicks, poll } = await new Promise<{ kicks: number; poll: PollState }>(
    (resolve, reject) => {
      guest.once('message', resolve);
      guest.once('error', reject);
    },
  );
  const interrupts = server.metrics.doorbells;
  await guest.terminate();
  await server.close();
  const stats = SPANS.map(([, from, to]) => {
    const spans: number[] = [];
    for (let n = WARMUP; n < WARMUP + CALLS; n++) {
      const us = clock!.span(n, from, to);
      if (us !== undefined) spans.push(us);
    }
    spans.sort((a, b) => a - b);
    const mean = spans.reduce((a, b) => a + b, 0) / spans.length;
    return { median: spans[Math.floor(spans.length / 2)] ?? Number.NaN, mean };
  });
  const calls = WARMUP + CALLS;
  return {
    stats,
    kicks: kicks / calls,
    interrupts: interrupts / calls,
    polls: { device: { ...server.poll }, driver: poll },
  };
}

const off = await run(0);
const on = await run(undefined);
const cell = (us: number) => us.toFixed(1).padStart(8);
console.log(`one query() at a time, ${CALLS} calls after ${WARMUP} warm-up, µs`);
console.log(`${''.padEnd(34)}   no polling        polling`);
console.log(`${'stage'.padEnd(34)}   median    mean  median    mean`);
SPANS.forEach(([name], i) => {
  const [a, b] = [off.stats[i]!, on.stats[i]!];
  console.log(
    `${name.padEnd(34)} ${cell(a.median)}${cell(a.mean)}${cell(b.median)}${cell(b.mean)}`,
  );
});
const doorbells = (r: typeof on) => `${r.kicks.toFixed(2)} / ${r.interrupts.toFixed(2)}`;
console.log(
  `${'kicks / interrupts per call'.padEnd(34)} ${doorbells(off).padStart(16)}${doorbells(on).padStart(16)}`,
);
console.log('(doorbells counted over warm-up and timed calls together)');
for (const side of ['device', 'driver'] as const) {
  const { runs, caught, contended, budgetUs } = on.polls[side];
  console.log(
    `${side} poll loop: ${runs} runs, ${caught} caught, ${contended} contended, window now ${budgetUs} µs`,
  );
}

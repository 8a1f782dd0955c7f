/**
 * Where the time of one remoted 64-byte write goes: each stage of the posted path timed alone,
 * in one process, over many iterations (median of several runs), next to the end-to-end rate
 * of the same workload (64 B, 32 in flight, guest and host in one thread).
 *
 *   npm run build && npm run bench:posted -w @vrdma/backend          # stages, counts, GC, end to end
 *   npx tsx packages/backend/bench/posted-costs.ts --e2e               # the remoted run only (to profile)
 *
 * Run without `--conditions=@vrdma/source`: the other packages come from their built dist (as
 * an application runs them); the host's own stages from this package's sources.
 */
import { createHook } from 'node:async_hooks';
import { GCProfiler } from 'node:v8';
import {
  createCodec,
  createDispatcher,
  createMemoryTransportPair,
  decodeFrame,
  FrameKind,
} from '@vrdma/api-spec';
import { createLocalCluster } from '@vrdma/engine-unimem';
import { connect } from '@vrdma/frontend';
import { createSharedRegion } from '@vrdma/memory';
import { createChannelPair, RingConsumer, RingProducer } from '@vrdma/transport-shm';
import {
  type GlobalAddress,
  type UnimemSession,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { AuditLog } from '../src/audit-log.js';
import { CapabilityOwners } from '../src/capability-owners.js';
import { GuestObjects } from '../src/guest-objects.js';
import { HandleTable } from '../src/handle-table.js';
import type { HostQueues } from '../src/host-queues.js';
import { createHost, FairScheduler, quotasSchema, service } from '../src/index.js';
import {
  chain,
  type HostHandler,
  type SyncHandler,
  type SyncInterceptor,
} from '../src/interceptor.js';
import { audit } from '../src/interceptors/audit.js';
import { fairness } from '../src/interceptors/fairness.js';
import { isolation } from '../src/interceptors/isolation.js';
import { lease } from '../src/interceptors/lease.js';
import { metrics } from '../src/interceptors/metrics.js';
import { queueLifetimes } from '../src/interceptors/queue-lifetimes.js';
import { QuotaState, quotas } from '../src/interceptors/quotas.js';
import { GuestMetrics } from '../src/metrics.js';

const SIZE = 64;
const DEPTH = 32;
const RUNS = 5;
const N = 200_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** µs per iteration of a synchronous body: median of RUNS runs of `n` iterations. */
function timeSync(n: number, body: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 20_000); i++) body(i); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) body(i);
    runs.push(((performance.now() - t) * 1000) / n);
  }
  return median(runs);
}

/** µs per op of an async batch body that does `perBatch` ops. */
async function timeAsync(
  ops: number,
  perBatch: number,
  body: (batch: number) => Promise<void>,
): Promise<number> {
  const batches = Math.ceil(ops / perBatch);
  for (let b = 0; b < Math.min(batches, 500); b++) await body(b);
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    for (let b = 0; b < batches; b++) await body(b);
    runs.push(((performance.now() - t) * 1000) / (batches * perBatch));
  }
  return median(runs);
}

const rows: { stage: string; us: number; note?: string }[] = [];
const row = (stage: string, us: number, note?: string) => {
  rows.push({ stage, us, note });
  console.log(`${stage.padEnd(58)} ${us.toFixed(3).padStart(8)} µs${note ? `  ${note}` : ''}`);
};

// ---------------------------------------------------------------------------------------------
// The shared pieces: the spec's write, a codec, a ring of the deep data ring's shape.
const write = unimemSpec.lookup('write')!;
const poll = unimemSpec.lookup('poll')!;
const cq = unimemSpec.queues.queueOf(write)!;
const codec = createCodec(unimemSpec);
const region = createSharedRegion(500, 16 << 20);
const guestArgs = {
  channel: 1,
  local: { region: 500, offset: 0, length: SIZE },
  remote: (1n << 48n) | 4096n,
  key: 7,
};
const shape = { slotCount: 256, slotSize: 256 };
const ringMemory = new SharedArrayBuffer(128 + shape.slotCount * shape.slotSize);
const producer = new RingProducer(ringMemory, 0, shape);
const consumer = new RingConsumer(ringMemory, 0, shape);

async function stages(): Promise<void> {
  console.log('# stages in isolation (µs per write)');
  // (1) guest post path
  const parsed = write.args.safeParse(guestArgs);
  if (!parsed.success) throw new Error(String(parsed.error));
  const args = parsed.data as Record<string, unknown>;
  const validate = timeSync(N, () => {
    write.args.safeParse(guestArgs);
  });
  row('1a guest: args validation (zod safeParse)', validate);
  const encode = timeSync(N, (i) => {
    codec.encodeRequest(write, i, args, FrameKind.Post);
  });
  row('1b guest: encodeRequest (fixed layout)', encode);
  const frame = codec.encodeRequest(write, 1, args, FrameKind.Post);
  const pushPop = timeSync(N, () => {
    producer.tryPush(frame);
    consumer.tryPop();
  });
  row('1c+2a ring: guest tryPush + host tryPop (slice copy)', pushPop);
  // (2) host decode
  const decode = timeSync(N, () => {
    const f = decodeFrame(frame);
    codec.decodeArgs(write, f);
  });
  row('2b host: decodeFrame + decodeArgs (fixed layout)', decode);

  // (3) the host's interceptor chain, with a no-op engine
  const identity = { id: 1, label: 'guest-1' };
  const objects = new GuestObjects(
    identity,
    unimemSpec,
    new HandleTable(),
    new CapabilityOwners(),
    [region],
  );
  const openChannel = unimemSpec.lookup('openChannel')!;
  const opened = objects.fromEngine(openChannel, { depth: 64 }, { channel: 9, depth: 64 }) as {
    channel: number;
  };
  const hostArgs = { ...args, channel: opened.channel };
  let transfer = 0;
  const noop: HostHandler = async (call) =>
    call.fn === write ? { transfer: transfer++ } : { completions: [] };
  const scheduler = new FairScheduler(quotasSchema.parse({}).bytes, { maxQueued: 1024 });
  scheduler.addFlow(1);
  const gm = new GuestMetrics();
  const log = new AuditLog(100);
  const quota = new QuotaState();
  const limits = quotasSchema.parse({});
  const fakeQueues = { releasedAll() {}, released() {} } as unknown as HostQueues;
  const all: [string, SyncInterceptor][] = [
    ['lease', lease(() => {})],
    ['metrics', metrics(gm)],
    ['audit', audit(log)],
    ['quotas', quotas(limits, objects, quota)],
    ['queueLifetimes', queueLifetimes(fakeQueues)],
    ['isolation', isolation(objects)],
    ['fairness', fairness(scheduler)],
  ];
  const callOf = { guest: identity, spec: unimemSpec, fn: write, args: hostArgs };
  const chainCost = async (interceptors: SyncInterceptor[]) => {
    const handler = chain<SyncHandler>(interceptors, noop);
    const batch: Promise<unknown>[] = new Array(DEPTH);
    return timeAsync(N, DEPTH, async () => {
      for (let i = 0; i < DEPTH; i++) batch[i] = handler(callOf) as Promise<unknown>;
      await Promise.all(batch);
    });
  };
  const bare = await chainCost([]);
  const full = await chainCost(all.map(([, i]) => i));
  row('3  host: interceptor chain (7) + no-op engine, 32/batch', full);
  row('3· no-op engine alone (async fn, Promise.all of 32)', bare);
  for (const [name] of all) {
    const without = await chainCost(all.filter(([n]) => n !== name).map(([, i]) => i));
    row(`3· share of ${name} (full − without it)`, full - without);
  }
  // (4) FairScheduler.run for a lone guest
  const sched = new FairScheduler(1 << 20, { maxQueued: 1024 });
  sched.addFlow(1);
  const batch: Promise<unknown>[] = new Array(DEPTH);
  const fair = await timeAsync(N, DEPTH, async () => {
    for (let i = 0; i < DEPTH; i++) batch[i] = sched.run(1, SIZE, () => i);
    await Promise.all(batch);
  });
  row('4  FairScheduler.run, lone guest, 32/batch', fair - 0);

  // dispatcher.post in front of the chain: decode + dispatch + chain + engine + onPosted
  const handler = chain<SyncHandler>(
    all.map(([, i]) => i),
    noop,
  );
  const impl: Record<string, (a: unknown) => unknown> = {};
  for (const fn of unimemSpec.table)
    impl[fn.name] = (a) => handler({ guest: identity, spec: unimemSpec, fn, args: a });
  let accepted = 0;
  const dispatcher = createDispatcher(unimemSpec, impl as never, {
    onPosted: () => {
      accepted++;
    },
  });
  const frames = Array.from({ length: DEPTH }, (_, i) =>
    codec.encodeRequest(write, i, hostArgs, FrameKind.Post),
  );
  const dispatched = await timeAsync(N, DEPTH, async () => {
    for (let i = 0; i < DEPTH; i++) batch[i] = Promise.resolve(dispatcher.post(frames[i]!));
    await Promise.all(batch);
  });
  row('3+ dispatcher.post (decode + chain + no-op engine)', dispatched);
  if (accepted === 0) throw new Error('nothing posted');

  // (5) engine-unimem natively: write + its DMA completion, 32 in flight, reaped by wait
  const cluster = createLocalCluster({ nodes: [0, 1] });
  const peer = cluster.node(1).openSession();
  await peer.open();
  const t = await peer.alloc({ size: 1 << 20 });
  const exported = await peer.exportBuffer({ buffer: t.buffer, access: 'read-write' });
  const native = cluster.node(0).openSession();
  await native.open();
  const buf = await native.alloc({ size: SIZE });
  const { channel } = await native.openChannel({ depth: DEPTH * 2 });
  const wargs = { channel, local: buf.ref, remote: exported.address, key: exported.key };
  const engine = await timeAsync(N, DEPTH, async () => {
    for (let i = 0; i < DEPTH; i++) void native.write(wargs);
    let got = 0;
    while (got < DEPTH)
      got += (await native.wait({ channel, max: 16, timeoutMs: 1000 })).completions.length;
  });
  row('5  engine-unimem: write + DMA completion + wait (native)', engine);

  // (6) completion path: host match + encode a 16-entry frame + push; guest pop + decode
  const max = cq.maxEntries;
  const engineEntries = Array.from({ length: 16 }, (_, i) => ({
    transfer: i,
    status: 'ok',
    bytes: SIZE,
  }));
  const tokens = new Map<number, number>();
  const hostSide = timeSync(N / 16, (k) => {
    const out: Record<string, unknown>[] = [];
    for (const e of engineEntries) tokens.set(e.transfer, k);
    for (const e of engineEntries) {
      const token = tokens.get(e.transfer)!;
      tokens.delete(e.transfer);
      out.push({ ...e, [cq.token]: token });
    }
    const f = codec.encodeResult(poll, 1, { [cq.entries]: out }, FrameKind.Completion);
    producer.tryPush(f);
    consumer.tryPop();
  });
  row(
    '6a host: match + encode 16-entry completion + push (per entry)',
    hostSide / 16,
    `max ${max}`,
  );
  const cframe = codec.encodeResult(poll, 1, { [cq.entries]: engineEntries }, FrameKind.Completion);
  const guestSide = timeSync(N / 16, () => {
    producer.tryPush(cframe);
    const f = consumer.tryPop()!;
    codec.decodeResult(poll, decodeFrame(f));
  });
  row('6b guest: pop + decode 16-entry completion (per entry)', guestSide / 16);
  await cluster.shutdown();
}

/**
 * Writes of `size` bytes, `depth` in flight, completions reaped as they come, for `durationMs`:
 * the application's loop (as the app's write-rate workload), on any Unimem session.
 */
async function writeRate(
  device: UnimemSession,
  target: { address: GlobalAddress; key: number },
  size: number,
  { depth, durationMs }: { depth: number; durationMs: number },
) {
  const buffer = await device.alloc({ size });
  const { channel } = await device.openChannel({ depth: depth * 2 });
  const started = performance.now();
  const end = started + durationMs;
  let ops = 0;
  let inflight = 0;
  const post = () =>
    device.write({ channel, local: buffer.ref, remote: target.address, key: target.key });
  while (performance.now() < end || inflight > 0) {
    while (inflight < depth && performance.now() < end) {
      void post();
      inflight++;
    }
    const { completions } = await device.wait({ channel, timeoutMs: 10_000 });
    if (completions.length === 0) throw new Error('a write did not complete within 10 s');
    for (const c of completions) if (c.status !== 'ok') throw new Error(`write ended ${c.status}`);
    inflight -= completions.length;
    ops += completions.length;
  }
  const seconds = (performance.now() - started) / 1000;
  await device.closeChannel({ channel });
  await device.free({ buffer: buffer.buffer });
  return { size, depth, ops, seconds, opsPerSec: ops / seconds };
}

// ---------------------------------------------------------------------------------------------
// End to end: 64 B writes, 32 in flight, guest and host in one thread, remoted.
async function endToEnd(durationMs: number, observe?: (phase: 'start' | 'end') => void) {
  const cluster = createLocalCluster({ nodes: [0, 1] });
  const host = createHost({ services: [service(unimemSpec, cluster.node(0))] });
  const peer = cluster.node(1).openSession();
  await peer.open();
  const t = await peer.alloc({ size: 1 << 20 });
  const { key, address } = await peer.exportBuffer({ buffer: t.buffer, access: 'read-write' });
  const target = { address, key, length: 1 << 20 };
  const memory = createSharedRegion(501, 16 << 20);
  const control = createMemoryTransportPair();
  const data = createChannelPair({ shape: { slotCount: 256, slotSize: 256 } });
  host.attach({ control: control.server, data: data.server, memory });
  const connection = await connect({
    spec: unimemSpec,
    control: control.client,
    data: data.client,
    memory,
  });
  const device = unimemSession(connection);
  await device.open();
  await writeRate(device, target, SIZE, { depth: DEPTH, durationMs: 300 }); // warm-up
  observe?.('start');
  const rate = await writeRate(device, target, SIZE, { depth: DEPTH, durationMs });
  observe?.('end');
  const stats = cluster.node(0).dma.stats;
  await connection.close();
  await host.close();
  await cluster.shutdown();
  return { rate, dmaTurns: stats.turns };
}

async function counts(): Promise<void> {
  console.log('\n# event-loop work per write (async_hooks inits during the remoted run)');
  const seen = new Map<string, number>();
  let on = false;
  const hook = createHook({
    init(_id, type) {
      if (on) seen.set(type, (seen.get(type) ?? 0) + 1);
    },
  });
  hook.enable();
  let ops = 0;
  const { rate } = await endToEnd(1000, (phase) => {
    on = phase === 'start';
  });
  hook.disable();
  ops = rate.ops;
  for (const [type, n] of [...seen].sort((a, b) => b[1] - a[1]))
    console.log(`${type.padEnd(20)} ${(n / ops).toFixed(2).padStart(8)} per write`);
}

async function gc(): Promise<void> {
  console.log('\n# allocation and GC during the remoted run');
  const profiler = new GCProfiler();
  let start: { used: number; at: number } | undefined;
  let result: ReturnType<GCProfiler['stop']> | undefined;
  const { rate } = await endToEnd(2000, (phase) => {
    if (phase === 'start') {
      profiler.start();
      start = { used: process.memoryUsage().heapUsed, at: performance.now() };
    } else result = profiler.stop();
  });
  const stats = (result?.statistics ?? []) as {
    cost: number;
    beforeGC: { heapStatistics: { usedHeapSize: number } };
    afterGC: { heapStatistics: { usedHeapSize: number } };
  }[];
  let allocated = 0;
  let last = start!.used;
  let pause = 0;
  for (const s of stats) {
    allocated += s.beforeGC.heapStatistics.usedHeapSize - last;
    last = s.afterGC.heapStatistics.usedHeapSize;
    pause += s.cost;
  }
  allocated += process.memoryUsage().heapUsed - last;
  console.log(
    `${stats.length} GCs, ${(pause / 1000).toFixed(1)} ms paused; ` +
      `${(allocated / rate.ops).toFixed(0)} B allocated per write; ` +
      `${(pause / rate.ops).toFixed(3)} µs GC per write`,
  );
  row(
    '8  GC pauses (scavenges) per write',
    pause / rate.ops,
    `${(allocated / rate.ops).toFixed(0)} B/write`,
  );
}

const mode = process.argv[2];
if (mode === '--e2e') {
  const { rate, dmaTurns } = await endToEnd(3000, (phase) => {
    if (phase === 'start' || phase === 'end')
      console.log(`window ${phase} ${process.hrtime.bigint() / 1000n}`);
  });
  console.log('remoted', JSON.stringify(rate), 'dma turns/write', (dmaTurns / rate.ops).toFixed(3));
} else {
  await stages();
  await counts();
  await gc();
  console.log('\n# end to end (64 B writes, 32 in flight, one thread)');
  const e2e: number[] = [];
  for (let r = 0; r < 3; r++) {
    const { rate, dmaTurns } = await endToEnd(2000);
    e2e.push(1e6 / rate.opsPerSec);
    console.log(
      `remoted ${rate.opsPerSec.toFixed(0)} writes/s (${(1e6 / rate.opsPerSec).toFixed(2)} µs), dma turns/write ${(dmaTurns / rate.ops).toFixed(3)}`,
    );
  }
  const total = median(e2e);
  console.log(`\n# per write, of ${total.toFixed(2)} µs end to end (median of 3)`);
  for (const r of rows)
    console.log(
      `${r.stage.padEnd(66)} ${r.us.toFixed(3).padStart(8)} µs ${((100 * r.us) / total).toFixed(1).padStart(5)}%`,
    );
}

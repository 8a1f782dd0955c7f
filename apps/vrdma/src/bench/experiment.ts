import { cpus } from 'node:os';
import { Deployment, type GuestKind } from '../compose/deployment.js';
import type { GuestHandle } from '../compose/guest-handle.js';
import type { TransportCounters, WorkloadResult } from '../workloads/requests.js';
import {
  CONTROL_CALLS,
  controlCallCosts,
  type Target,
  writeBandwidth,
  writeRate,
} from '../workloads/workloads.js';
import { measureBaselines } from './baselines.js';
import { type BenchResult, jainIndex } from './result.js';

export interface BenchOptions {
  quick: boolean;
  guests: GuestKind;
  /** The engine under both sides: emulated Unimem (default) or libfabric with `provider`. */
  engine?: 'unimem' | 'libfabric';
  provider?: string;
  /** Called before each step, with the number of steps in all. */
  progress?: (label: string, total: number) => void;
}

const GUEST_KIND_NAMES = {
  thread: 'worker threads',
  process: 'OS processes',
  vm: 'QEMU virtual machines (TCG) over ivshmem and virtio-serial',
} as const;

const FULL_SIZES = [
  64,
  256,
  1 << 10,
  4 << 10,
  16 << 10,
  64 << 10,
  256 << 10,
  1 << 20,
  4 << 20,
  16 << 20,
  64 << 20,
];
const QUICK_SIZES = [64, 4 << 10, 64 << 10, 1 << 20];
/** Small writes: 64 B each, as many in flight as fit the data ring beside the reaping calls. */
const SMALL_WRITES = { size: 64, depth: 32 };

function expect<K extends WorkloadResult['kind']>(
  result: WorkloadResult,
  kind: K,
): Extract<WorkloadResult, { kind: K }> {
  if (result.kind !== kind) throw new Error(`guest answered ${result.kind}, expected ${kind}`);
  return result as Extract<WorkloadResult, { kind: K }>;
}

/**
 * A buffer on the peer node, as guests get it: where and with which key, without the peer's
 * view of it, which a process guest would otherwise receive as a copy of the whole buffer.
 */
async function exportTarget(deployment: Deployment, size: number): Promise<Target> {
  const { address, key, length } = await deployment.exportTarget(size);
  return { address, key, length };
}

async function countersOf(guest: GuestHandle): Promise<TransportCounters> {
  return expect(await guest.run({ kind: 'transport-counters' }), 'transport-counters').counters;
}

/**
 * The paper's experiment, native and remoted side by side in one run: bandwidth by transfer
 * size, small writes per second, time per control call beside a Comlink and a postMessage round
 * trip between two threads, kicks per operation, and aggregate bandwidth with 1 to 8 guests
 * with Jain's fairness index.
 */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  // VMs take a core each under TCG: two at most on this kind of machine.
  const guestCounts = options.guests === 'vm' ? [1, 2] : options.quick ? [1, 2, 4] : [1, 2, 4, 8];
  const budget = options.quick
    ? { minBytes: 16 << 20, minOps: 500 }
    : { minBytes: 128 << 20, minOps: 5_000 };
  const rounds = options.quick ? 50 : 300;
  const streamMs = options.quick ? 300 : 1_000;
  const smallWrites = { ...SMALL_WRITES, durationMs: options.quick ? 300 : 2_000 };
  const baselineRounds = options.quick ? 2_000 : 20_000;
  const maxSize = sizes[sizes.length - 1]!;
  const steps = sizes.length * 2 + 2 + 2 + 1 + guestCounts.length + 1;
  const step = (label: string) => options.progress?.(label, steps);

  step('starting the cluster and guests');
  const deployment = Deployment.create({
    nodes: 2,
    engineKind: options.engine ?? 'unimem',
    provider: options.provider,
    engine: { sessionMemory: maxSize + (16 << 20) },
    host: { quotas: { bytes: 1 << 30 } },
  });
  try {
    const target = await exportTarget(deployment, maxSize);
    const native = await deployment.nativeSession();
    const guests: GuestHandle[] = [];
    for (let i = 0; i < Math.max(...guestCounts); i++) {
      guests.push(
        await deployment.startGuest(
          options.guests,
          `bench-${i + 1}`,
          i === 0 ? maxSize + (8 << 20) : 8 << 20,
        ),
      );
    }
    const first = guests[0]!;

    const bandwidth: BenchResult['bandwidth'] = [];
    const before = await countersOf(first);
    for (const size of sizes) {
      step(`native bandwidth ${size} B`);
      const nativePoint = await writeBandwidth(native, target, size, budget);
      step(`remoted bandwidth ${size} B`);
      const remoted = expect(
        await first.run({ kind: 'bandwidth', target, sizes: [size], budget }),
        'bandwidth',
      ).points[0]!;
      bandwidth.push({
        size,
        nativeGBps: nativePoint.gbps,
        remotedGBps: remoted.gbps,
        ratio: remoted.gbps / nativePoint.gbps,
      });
    }
    const afterBandwidth = await countersOf(first);
    const dataOps = afterBandwidth.data.messages - before.data.messages;
    const perDataOp =
      dataOps > 0 ? (afterBandwidth.data.doorbells - before.data.doorbells) / dataOps : 0;

    step('native small writes');
    const nativeRate = await writeRate(native, target, smallWrites.size, smallWrites);
    step('remoted small writes');
    const remotedRate = expect(
      await first.run({ kind: 'write-rate', target, ...smallWrites }),
      'write-rate',
    ).rate;

    step('native control calls');
    const nativeControl = await controlCallCosts(native, rounds);
    step('remoted control calls');
    const beforeControl = await countersOf(first);
    const remotedControl = expect(await first.run({ kind: 'control', rounds }), 'control');
    const afterControl = await countersOf(first);
    const controlCalls = afterControl.control.messages - beforeControl.control.messages;
    const perControlCall =
      controlCalls > 0
        ? (afterControl.control.doorbells - beforeControl.control.doorbells) / controlCalls
        : 0;
    step('Comlink and postMessage round trips between two threads');
    const baselines = await measureBaselines(baselineRounds);
    const control = CONTROL_CALLS.map((fn) => ({
      fn,
      nativeUs: nativeControl.mean[fn],
      remotedUs: remotedControl.micros[fn],
      ratio: remotedControl.micros[fn] / nativeControl.mean[fn],
      vsComlink: remotedControl.micros[fn] / baselines.comlinkUs,
      nativeMedianUs: nativeControl.median[fn],
      remotedMedianUs: remotedControl.medianMicros[fn],
      medianVsComlink: remotedControl.medianMicros[fn] / baselines.comlinkMedianUs,
    }));

    const streamTargets = await Promise.all(guests.map(() => exportTarget(deployment, 1 << 20)));
    const many: BenchResult['guests'] = [];
    for (const n of guestCounts) {
      step(`${n} guest(s) streaming`);
      const results = await Promise.all(
        guests.slice(0, n).map((g, i) =>
          g.run({
            kind: 'stream',
            target: streamTargets[i]!,
            size: 1 << 20,
            durationMs: streamMs,
          }),
        ),
      );
      // Each guest counts what completed within its window, so the rates add up.
      const perGuest = results.map((r) => {
        const s = expect(r, 'stream');
        return s.bytes / s.seconds / 1e9;
      });
      many.push({
        n,
        aggregateGBps: perGuest.reduce((a, g) => a + g, 0),
        jain: jainIndex(perGuest),
        perGuestGBps: perGuest,
      });
    }
    step('done');
    return {
      machine: {
        cpus: cpus().length,
        node: process.versions.node,
        engine:
          options.engine === 'libfabric'
            ? `engine-libfabric (${options.provider ?? 'tcp'}), 2 nodes in one process`
            : 'engine-unimem, 2 nodes in one process',
        transports: 'control: virtio split virtqueue; data: transport-shm polled ring',
        guests: GUEST_KIND_NAMES[options.guests],
      },
      bandwidth,
      control,
      baselines,
      smallWrites: {
        size: smallWrites.size,
        inFlight: smallWrites.depth,
        nativeOpsPerSec: nativeRate.opsPerSec,
        remotedOpsPerSec: remotedRate.opsPerSec,
        ratio: remotedRate.opsPerSec / nativeRate.opsPerSec,
      },
      kicks: { perDataOp, perControlCall },
      guests: many,
    };
  } finally {
    await deployment.close();
  }
}

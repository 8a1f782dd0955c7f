import type { Handle } from '@vrdma/api-spec';
import type { GlobalAddress, UnimemSession } from '@vrdma/unimem-api';
import { type CallCosts, meanCallCosts } from './call-costs.js';

/** A remote buffer exported to the workload: where its writes land. */
export interface Target {
  address: GlobalAddress;
  key: number;
  length: number;
}

export interface BandwidthPoint {
  size: number;
  bytes: number;
  seconds: number;
  gbps: number;
}

const PIPELINE = 32;

/**
 * Streams writes of `size` bytes to `target`, `PIPELINE` in flight, until `minBytes` have moved
 * and at least `minOps` writes completed; the same code measures a native session and a
 * remoted one.
 */
export async function writeBandwidth(
  device: UnimemSession,
  target: Target,
  size: number,
  budget: { minBytes: number; minOps: number },
): Promise<BandwidthPoint> {
  if (size > target.length)
    throw new RangeError(`size ${size} exceeds the target's ${target.length} bytes`);
  const buffer = await device.alloc({ size });
  const { channel } = await device.openChannel({ depth: PIPELINE * 2 });
  const ops = Math.max(budget.minOps, Math.ceil(budget.minBytes / size));
  try {
    await streamWrites(device, channel, buffer.ref, target, Math.min(ops, 4)); // warm-up
    const started = process.hrtime.bigint();
    await streamWrites(device, channel, buffer.ref, target, ops);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { size, bytes: ops * size, seconds, gbps: (ops * size) / seconds / 1e9 };
  } finally {
    await device.closeChannel({ channel });
    await device.free({ buffer: buffer.buffer });
  }
}

/**
 * Writes of `size` as fast as possible until `deadline` (a `Date.now()` time), into one buffer.
 * Counts only the writes that completed by the deadline, so guests streaming side by side are
 * compared over the same window; writes still in flight then are drained, not counted.
 */
export async function streamUntil(
  device: UnimemSession,
  target: Target,
  size: number,
  deadline: number,
  depth = PIPELINE,
): Promise<{ bytes: number }> {
  const buffer = await device.alloc({ size });
  const { channel } = await device.openChannel({ depth: depth * 2 });
  try {
    let counted = 0;
    await pipelineWrites(device, channel, buffer.ref, target, depth, {
      more: () => Date.now() < deadline,
      completed: (n) => {
        if (Date.now() <= deadline) counted += n;
      },
    });
    return { bytes: counted * size };
  } finally {
    await device.closeChannel({ channel });
    await device.free({ buffer: buffer.buffer });
  }
}

export interface WriteRate {
  size: number;
  /** Writes kept in flight. */
  depth: number;
  ops: number;
  seconds: number;
  opsPerSec: number;
}

/**
 * Writes of `size` bytes per second, `depth` in flight and completions reaped in batches, for
 * about `durationMs` after a warm-up half as long. Every write posted in the window counts,
 * timed to its completion. With small writes this is the cost per operation that bandwidth at
 * large sizes hides; the same code measures a native session and a remoted one.
 */
export async function writeRate(
  device: UnimemSession,
  target: Target,
  size: number,
  { depth, durationMs }: { depth: number; durationMs: number },
): Promise<WriteRate> {
  if (size > target.length)
    throw new RangeError(`size ${size} exceeds the target's ${target.length} bytes`);
  const buffer = await device.alloc({ size });
  const { channel } = await device.openChannel({ depth: depth * 2 });
  try {
    // Warm-up, half as long as the run (the JIT compiles the write path while it goes).
    const warm = performance.now() + durationMs / 2;
    await pipelineWrites(device, channel, buffer.ref, target, depth, {
      more: () => performance.now() < warm,
      completed: () => {},
    });
    let ops = 0;
    const started = performance.now();
    const end = started + durationMs;
    await pipelineWrites(device, channel, buffer.ref, target, depth, {
      more: () => performance.now() < end,
      completed: (count) => {
        ops += count;
      },
    });
    const seconds = (performance.now() - started) / 1000;
    return { size, depth, ops, seconds, opsPerSec: ops / seconds };
  } finally {
    await device.closeChannel({ channel });
    await device.free({ buffer: buffer.buffer });
  }
}

async function streamWrites(
  device: UnimemSession,
  channel: Handle<'Channel'>,
  local: { region: number; offset: number; length: number },
  target: Target,
  ops: number,
  depth = PIPELINE,
): Promise<void> {
  let posted = 0;
  await pipelineWrites(device, channel, local, target, depth, {
    more: () => posted++ < ops,
    completed: () => {},
  });
}

/**
 * Keeps up to `depth` writes in flight while `more()` allows another, and reports how many
 * completed; returns once every posted write completed. A write's acknowledgement is not awaited
 * before completions are reaped, so the lane refills as soon as any write completes and stays
 * backlogged at the host for as long as it streams.
 */
async function pipelineWrites(
  device: UnimemSession,
  channel: Handle<'Channel'>,
  local: { region: number; offset: number; length: number },
  target: Target,
  depth: number,
  flow: { more: () => boolean; completed: (count: number) => void },
): Promise<void> {
  const acks = new Acknowledgements();
  let inflight = 0;
  let posting = true;
  while (posting || inflight > 0) {
    while (posting && inflight < depth) {
      if (!flow.more()) {
        posting = false;
        break;
      }
      acks.track(device.write({ channel, local, remote: target.address, key: target.key }));
      inflight++;
    }
    if (inflight === 0) break;
    // A refused write fails the lane at once rather than after the wait times out.
    const { completions } = await acks.orRefusal(device.wait({ channel, timeoutMs: 10_000 }));
    if (completions.length === 0) throw new Error('a write did not complete within 10 s');
    for (const c of completions) {
      if (c.status !== 'ok') throw new Error(`write ended ${c.status}`);
    }
    inflight -= completions.length;
    flow.completed(completions.length);
  }
  await acks.orRefusal(acks.all());
}

/** Write acknowledgements not awaited one by one: the first refusal, and when all arrived. */
class Acknowledgements {
  private pending = 0;
  private drained: (() => void) | undefined;
  private readonly refused: Promise<never>;
  private refuse!: (error: unknown) => void;

  constructor() {
    this.refused = new Promise<never>((_, reject) => {
      this.refuse = reject;
    });
    this.refused.catch(() => {});
  }

  track(ack: Promise<unknown>): void {
    this.pending++;
    ack.then(() => {
      if (--this.pending === 0) this.drained?.();
    }, this.refuse);
  }

  all(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  orRefusal<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.refused]);
  }
}

export const CONTROL_CALLS = ['open', 'alloc', 'free', 'exportBuffer', 'openChannel'] as const;
export type ControlCall = (typeof CONTROL_CALLS)[number];

/**
 * Microseconds per control call (mean and median), each timed alone, over `rounds` rounds
 * after a warm-up (see meanCallCosts).
 */
export async function controlCallCosts(
  device: UnimemSession,
  rounds: number,
): Promise<CallCosts<ControlCall>> {
  await device.close();
  const costs = await meanCallCosts(CONTROL_CALLS, rounds, async (time) => {
    await time('open', () => device.open());
    const buffer = await time('alloc', () => device.alloc({ size: 4096 }));
    await time('exportBuffer', () =>
      device.exportBuffer({ buffer: buffer.buffer, access: 'read' }),
    );
    const { channel } = await time('openChannel', () => device.openChannel({ depth: 4 }));
    await device.closeChannel({ channel });
    await time('free', () => device.free({ buffer: buffer.buffer }));
    await device.close();
  });
  await device.open();
  return costs;
}

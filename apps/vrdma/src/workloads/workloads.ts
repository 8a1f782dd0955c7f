import type { GlobalAddress, Handle, UnimemSession } from '@vrdma/api-spec';

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

const PIPELINE = 8;

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

/** Writes of `size` as fast as possible for `durationMs`, into one buffer: bytes moved and time taken. */
export async function streamFor(
  device: UnimemSession,
  target: Target,
  size: number,
  durationMs: number,
): Promise<{ bytes: number; seconds: number }> {
  const buffer = await device.alloc({ size });
  const { channel } = await device.openChannel({ depth: PIPELINE * 2 });
  try {
    const started = process.hrtime.bigint();
    const deadline = Date.now() + durationMs;
    let ops = 0;
    while (Date.now() < deadline) {
      await streamWrites(device, channel, buffer.ref, target, 4 * PIPELINE);
      ops += 4 * PIPELINE;
    }
    return { bytes: ops * size, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
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
): Promise<void> {
  let posted = 0;
  let completed = 0;
  let inflight = 0;
  while (completed < ops) {
    const batch: Array<Promise<unknown>> = [];
    while (posted < ops && inflight < PIPELINE) {
      batch.push(device.write({ channel, local, remote: target.address, key: target.key }));
      posted++;
      inflight++;
    }
    await Promise.all(batch);
    const { completions } = await device.wait({ channel, timeoutMs: 10_000 });
    if (completions.length === 0) throw new Error('a write did not complete within 10 s');
    for (const c of completions) {
      if (c.status !== 'ok') throw new Error(`write ended ${c.status}`);
    }
    completed += completions.length;
    inflight -= completions.length;
  }
}

export const CONTROL_CALLS = ['open', 'alloc', 'free', 'exportBuffer', 'openChannel'] as const;
export type ControlCall = (typeof CONTROL_CALLS)[number];

/** Mean microseconds per control call, each timed alone, over `rounds` rounds. */
export async function controlCallCosts(
  device: UnimemSession,
  rounds: number,
): Promise<Record<ControlCall, number>> {
  const total: Record<ControlCall, number> = {
    open: 0,
    alloc: 0,
    free: 0,
    exportBuffer: 0,
    openChannel: 0,
  };
  const time = async <T>(fn: ControlCall, call: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    const result = await call();
    total[fn] += Number(process.hrtime.bigint() - started) / 1e3;
    return result;
  };
  await device.close();
  for (let i = 0; i < rounds; i++) {
    await time('open', () => device.open());
    const buffer = await time('alloc', () => device.alloc({ size: 4096 }));
    await time('exportBuffer', () =>
      device.exportBuffer({ buffer: buffer.buffer, access: 'read' }),
    );
    const { channel } = await time('openChannel', () => device.openChannel({ depth: 4 }));
    await device.closeChannel({ channel });
    await time('free', () => device.free({ buffer: buffer.buffer }));
    await device.close();
  }
  await device.open();
  for (const fn of CONTROL_CALLS) total[fn] /= rounds;
  return total;
}

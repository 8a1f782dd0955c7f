/** What `vrdma bench` measures; `--json` prints exactly this object. */
export interface BenchResult {
  machine: { cpus: number; node: string; engine: string; transports: string; guests: string };
  bandwidth: Array<{ size: number; nativeGBps: number; remotedGBps: number; ratio: number }>;
  /**
   * Means, and medians (the typical call; the mean carries the tail of calls the OS preempted).
   * `ratio` is remoted / native; `vsComlink` is remoted / one Comlink round trip, means;
   * `medianVsComlink` the same of medians.
   */
  control: Array<{
    fn: string;
    nativeUs: number;
    remotedUs: number;
    ratio: number;
    vsComlink: number;
    nativeMedianUs: number;
    remotedMedianUs: number;
    medianVsComlink: number;
  }>;
  /** µs of one round trip between two threads, mean and median: what a control call is compared with. */
  baselines: {
    comlinkUs: number;
    postMessageUs: number;
    comlinkMedianUs: number;
    postMessageMedianUs: number;
  };
  /** Writes of `size` bytes per second, `inFlight` at a time; `ratio` is remoted / native. */
  smallWrites: {
    size: number;
    inFlight: number;
    nativeOpsPerSec: number;
    remotedOpsPerSec: number;
    ratio: number;
  };
  kicks: { perDataOp: number; perControlCall: number };
  guests: Array<{ n: number; aggregateGBps: number; jain: number; perGuestGBps: number[] }>;
}

/** Jain's fairness index: 1 when all equal, 1/n when one takes everything. */
export function jainIndex(values: number[]): number {
  if (values.length === 0) return 1;
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares);
}

export function formatBytes(size: number): string {
  if (size >= 1 << 20) return `${size / (1 << 20)} MiB`;
  if (size >= 1 << 10) return `${size / (1 << 10)} KiB`;
  return `${size} B`;
}

/** Operations per second, grouped by thousands: 1,234,567. */
export function opsPerSec(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}

import type { FlowStats } from './fair-scheduler.js';

/** Latencies in power-of-two microsecond buckets: bucket i holds [2^(i-1), 2^i) µs. */
export class LatencyHistogram {
  readonly buckets = new Array<number>(32).fill(0);
  count = 0;

  record(micros: number): void {
    const bucket = micros < 1 ? 0 : Math.min(31, Math.floor(Math.log2(micros)) + 1);
    this.buckets[bucket]! += 1;
    this.count += 1;
  }

  /** Upper bound, in µs, of the bucket holding the `p`-th percentile (0 when empty). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    let seen = 0;
    const rank = Math.ceil((p / 100) * this.count);
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return 2 ** i;
    }
    return 2 ** 31;
  }
}

export interface TransportCounters {
  messages: number;
  doorbells: number;
}

export interface GuestMetricsSnapshot {
  calls: Record<string, number>;
  errors: Record<string, number>;
  latencyUs: { count: number; p50: number; p99: number; buckets: number[] };
  transports: { control: TransportCounters; data: TransportCounters };
  /** Bytes of data-plane posts the fair scheduler started, and of those while others waited. */
  scheduled: FlowStats;
  /** Failed access checks (wrong key or range), and remote accesses refused for them. */
  denied: number;
  throttled: number;
}

/** What the host counts for one guest. */
export class GuestMetrics {
  readonly calls: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly latency = new LatencyHistogram();

  recordCall(fn: string, micros: number): void {
    this.calls[fn] = (this.calls[fn] ?? 0) + 1;
    this.latency.record(micros);
  }

  recordError(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  snapshot(
    transports: GuestMetricsSnapshot['transports'],
    scheduled: Readonly<FlowStats>,
    access: { denied: number; throttled: number } = { denied: 0, throttled: 0 },
  ): GuestMetricsSnapshot {
    return {
      calls: { ...this.calls },
      errors: { ...this.errors },
      latencyUs: {
        count: this.latency.count,
        p50: this.latency.percentile(50),
        p99: this.latency.percentile(99),
        buckets: [...this.latency.buckets],
      },
      transports,
      scheduled: { ...scheduled },
      denied: access.denied,
      throttled: access.throttled,
    };
  }
}

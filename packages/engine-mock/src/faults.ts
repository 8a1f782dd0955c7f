import { VrdmaError } from '@vrdma/api-spec';
import type { UnimemErrorCode } from '@vrdma/unimem-api';

/** One call as the engine saw it, for assertions in tests. */
export interface CallRecord {
  session: string;
  fn: string;
  args: unknown;
  outcome: 'ok' | 'error';
  code?: string;
}

interface PlannedFailure {
  fn: string;
  remaining: number;
  code: UnimemErrorCode;
  message: string;
}

/**
 * Fault injection: fail the Nth call of a function with a chosen error, delay completions.
 * Deterministic: failures count calls, not time.
 */
export class FaultPlan {
  private failures: PlannedFailure[] = [];
  /** Milliseconds between queueing a transfer and its completion (0: at once). */
  completionDelayMs = 0;

  /** The `nth` call of `fn` from now on (1 = the next one) fails with `code`. */
  failNth(fn: string, nth: number, code: UnimemErrorCode, message = `injected ${code}`): void {
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError('nth counts from 1');
    this.failures.push({ fn, remaining: nth, code, message });
  }

  delayCompletions(ms: number): void {
    this.completionDelayMs = ms;
  }

  clear(): void {
    this.failures = [];
    this.completionDelayMs = 0;
  }

  /** Called at the start of every call; throws the injected error when one is due. */
  check(fn: string): void {
    for (const failure of this.failures) {
      if (failure.fn !== fn) continue;
      failure.remaining -= 1;
      if (failure.remaining === 0) {
        this.failures = this.failures.filter((f) => f !== failure);
        throw new VrdmaError(failure.code, `${fn}: ${failure.message}`);
      }
    }
  }
}

/** The engine's call log, bounded: the oldest records go first. */
export class CallLog {
  readonly records: CallRecord[] = [];
  constructor(private readonly capacity = 10_000) {}

  add(record: CallRecord): void {
    if (this.records.length >= this.capacity) this.records.shift();
    this.records.push(record);
  }

  calls(fn?: string): CallRecord[] {
    return fn === undefined ? [...this.records] : this.records.filter((r) => r.fn === fn);
  }

  clear(): void {
    this.records.length = 0;
  }
}

import type { Completion } from '@vrdma/unimem-api';

interface Scheduled {
  timer: ReturnType<typeof setTimeout>;
  cancel(): void;
}

/**
 * A DMA channel: transfers queued in order, completions waiting to be reaped. It holds at
 * most `depth` transfers between queueing and reaping.
 */
export class Channel {
  private nextTransfer = 0;
  private readonly scheduled = new Set<Scheduled>();
  private readonly completions: Completion[] = [];
  /** A set: a waiter that times out leaves at once, in O(1). */
  private waiters = new Set<() => void>();

  constructor(
    readonly handle: number,
    readonly depth: number,
  ) {}

  get outstanding(): number {
    return this.scheduled.size + this.completions.length;
  }

  newTransferId(): number {
    const id = this.nextTransfer;
    this.nextTransfer = (this.nextTransfer + 1) >>> 0;
    return id;
  }

  /** Runs `run` after `delayMs`; `cancel` runs instead if the channel closes first. */
  schedule(delayMs: number, run: () => void, cancel: () => void): void {
    const entry: Scheduled = {
      timer: setTimeout(() => {
        this.scheduled.delete(entry);
        run();
      }, delayMs),
      cancel,
    };
    this.scheduled.add(entry);
  }

  complete(completion: Completion): void {
    this.completions.push(completion);
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  take(max: number): Completion[] {
    return this.completions.splice(0, max);
  }

  /** Resolves when a completion arrives, the channel closes, or `timeoutMs` passes. */
  waitForCompletion(timeoutMs: number): Promise<void> {
    if (this.completions.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Cancels every scheduled transfer and wakes every waiter; reaped or not, nothing stays. */
  close(): void {
    for (const entry of this.scheduled) {
      clearTimeout(entry.timer);
      entry.cancel();
    }
    this.scheduled.clear();
    this.completions.length = 0;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }
}

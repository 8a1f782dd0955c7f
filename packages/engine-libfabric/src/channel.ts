import type { Completion } from '@vrdma/unimem-api';
import type { Transfer } from './transfer.js';

/**
 * A DMA channel: up to `depth` transfers queued or finished but not reaped. Libfabric may
 * complete them out of order; the channel hands completions out in the order they were queued,
 * and holds a fenced transfer back until every earlier one finished.
 */
export class LibfabricChannel {
  private readonly queue: Transfer[] = [];
  private readonly waiters = new Set<() => void>();
  private nextId = 1;
  closed = false;

  constructor(
    readonly handle: number,
    readonly depth: number,
    private readonly start: (transfer: Transfer) => void,
  ) {}

  get full(): boolean {
    return this.queue.length >= this.depth;
  }

  newTransferId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    return id;
  }

  /** Queues a transfer and starts it, unless a fence holds it behind earlier ones. */
  add(transfer: Transfer): void {
    this.queue.push(transfer);
    if (!transfer.fence || this.allBeforeFinished(transfer)) this.start(transfer);
  }

  /** Called when one of its transfers finished: wakes waiters, releases fenced transfers. */
  finished(): void {
    for (const t of this.queue) {
      if (t.finished || t.started) continue;
      if (!this.allBeforeFinished(t)) break;
      this.start(t);
    }
    if (this.queue[0]?.finished) for (const wake of [...this.waiters]) wake();
  }

  take(max: number): Completion[] {
    const out: Completion[] = [];
    while (out.length < max && this.queue[0]?.finished) out.push(this.queue.shift()!.completion!);
    return out;
  }

  async waitForCompletion(timeoutMs: number): Promise<void> {
    if (this.queue[0]?.finished || timeoutMs === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Closes the channel: unfinished transfers end 'canceled'; returns them for the node. */
  close(): Transfer[] {
    this.closed = true;
    const unfinished = this.queue.filter((t) => !t.finished);
    for (const t of unfinished) t.finish('canceled');
    this.queue.length = 0;
    for (const wake of [...this.waiters]) wake();
    return unfinished;
  }

  private allBeforeFinished(transfer: Transfer): boolean {
    for (const t of this.queue) {
      if (t === transfer) return true;
      if (!t.finished) return false;
    }
    return true;
  }
}

import type { Completion } from '@vrdma/unimem-api';
import type { Transfer } from './transfer.js';

/**
 * A DMA channel: a bounded descriptor queue. It holds at most `depth` transfers between
 * queueing and reaping. The engine starts its transfers in queue order, works on up to
 * `pipelineDepth` of them at once (their chunks interleave, so a later transfer may finish
 * first), and reports completions in queue order: a finished transfer becomes visible once
 * every earlier one has finished. A fenced transfer starts only when no earlier transfer of
 * its channel is still active.
 */
export class DmaChannel {
  /** Every transfer not yet reaped, in queue order. */
  private readonly ring: Transfer[] = [];
  /** ring[0..started) have been started (starting is in order). */
  private started = 0;
  private activeCount = 0;
  private nextTransfer = 0;
  /** A set: a waiter that times out leaves in O(1), however many others wait. */
  private waiters = new Set<() => void>();
  closed = false;

  constructor(
    readonly handle: number,
    readonly depth: number,
  ) {}

  get outstanding(): number {
    return this.ring.length;
  }

  get full(): boolean {
    return this.ring.length >= this.depth;
  }

  /** True while a queued transfer waits to start. */
  get hasQueued(): boolean {
    return this.started < this.ring.length;
  }

  newTransferId(): number {
    const id = this.nextTransfer;
    this.nextTransfer = (this.nextTransfer + 1) >>> 0;
    return id;
  }

  push(transfer: Transfer): void {
    this.ring.push(transfer);
  }

  /** The next transfer the engine may start now, marked active; undefined if none may. */
  startNext(pipelineDepth: number): Transfer | undefined {
    if (this.closed || this.started >= this.ring.length || this.activeCount >= pipelineDepth)
      return undefined;
    const next = this.ring[this.started]!;
    if (next.fence && this.activeCount > 0) return undefined;
    this.started += 1;
    this.activeCount += 1;
    next.state = 'active';
    return next;
  }

  /** Records that an active transfer finished; wakes waiters if a completion became visible. */
  settled(): void {
    this.activeCount -= 1;
    if (this.ring[0]?.state === 'done') this.wake();
  }

  /** Reaps up to `max` visible completions, oldest first. */
  take(max: number): Completion[] {
    let count = 0;
    while (count < max && count < this.started && this.ring[count]!.state === 'done') count++;
    if (count === 0) return [];
    const reaped = this.ring.splice(0, count);
    this.started -= count;
    return reaped.map((t) => ({ transfer: t.id, status: t.status, bytes: t.bytes }));
  }

  /** Resolves when a completion is visible, the channel closes, or `timeoutMs` passes. */
  waitForCompletion(timeoutMs: number): Promise<void> {
    if (this.closed || this.ring[0]?.state === 'done') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve();
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Closes the channel: returns the transfers not yet finished, for the engine to cancel. */
  close(): Transfer[] {
    this.closed = true;
    const unfinished = this.ring.filter((t) => t.state !== 'done');
    this.ring.length = 0;
    this.started = 0;
    this.activeCount = 0;
    this.wake();
    return unfinished;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }
}

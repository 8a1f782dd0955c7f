import type { WakeChannel } from './doorbell.js';

/**
 * Wakes between processes over a stream (a UNIX socket): one byte per wake. Bytes that
 * arrive while nobody waits are remembered, so a wake sent just before the sleep is not
 * lost; a spurious wake only costs one more look at the ring.
 */
export class SocketWakeChannel implements WakeChannel {
  private pending = 0;
  private waiter: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly write: (bytes: Uint8Array) => void) {}

  static readonly WAKE = Uint8Array.of(1);

  send(): void {
    if (!this.closed) this.write(SocketWakeChannel.WAKE);
  }

  /** Called by the socket reader for every wake byte received. */
  received(count = 1): void {
    this.pending += count;
    this.release();
  }

  receive(timeoutMs: number): Promise<void> {
    if (this.pending > 0 || this.closed) {
      this.pending = 0;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.timer = setTimeout(() => this.release(), timeoutMs);
    });
  }

  interrupt(): void {
    this.release();
  }

  close(): void {
    this.closed = true;
    this.release();
  }

  private release(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    clearTimeout(this.timer);
    this.pending = 0;
    waiter();
  }
}

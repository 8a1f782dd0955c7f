import type { NativeEndpoint, NativeLibfabric } from './native.js';

/**
 * Drives libfabric's manual progress for one endpoint. Busy (transfers in flight, or a peer
 * kicked us recently) it drains the completion queue once per event-loop turn; idle it sleeps:
 * in libuv on the CQ's wait fd when the provider has one (after fi_trywait agrees), else until
 * a peer's kick arrives over the control connection. An idle engine costs no CPU.
 */
export class Progress {
  private scheduled = false;
  private lingerUntil = 0;
  private stopped = false;
  /** Times the completion queue was drained: flat while idle. */
  turns = 0;

  constructor(
    private readonly native: NativeLibfabric,
    private readonly endpoint: NativeEndpoint,
    private readonly waitFd: number,
    private readonly onCompletions: (flat: number[]) => void,
    private readonly hasWork: () => boolean,
  ) {
    if (waitFd >= 0) {
      native.watch(endpoint, () => this.pump());
      native.refWatch(endpoint, false);
    }
  }

  /** Whether peers must kick this endpoint to make it progress (no wait fd). */
  get needsKicks(): boolean {
    return this.waitFd < 0;
  }

  /** Progress now and for `lingerMs` more (a peer is using our memory and needs us). */
  wake(lingerMs = 0): void {
    if (lingerMs > 0) this.lingerUntil = Math.max(this.lingerUntil, Date.now() + lingerMs);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    this.turns += 1;
    const flat = this.native.drain(this.endpoint);
    this.onCompletions(flat);
    if (this.hasWork() || Date.now() < this.lingerUntil) this.schedule();
    else if (this.waitFd >= 0 && !this.native.trywait(this.endpoint)) this.schedule();
  }
}

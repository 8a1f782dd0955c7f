/**
 * How one side wakes the other. A doorbell stands for a VM exit (guest to host) or an
 * interrupt (host to guest): it is expensive, so it is rung only when the peer announced that
 * it sleeps, and every ring is counted.
 *
 * The protocol, on a shared Int32Array word per side ("I sleep"):
 *   sleeper: store 1 in its word; look for work once more; if none, wait for a wake;
 *            store 0.
 *   waker:   after publishing work, compareExchange(peer word, 1 → 0); only when it saw 1,
 *            send one wake. The exchange makes exactly one waker pay for each sleep.
 * With sequentially consistent Atomics, either the sleeper sees the work or the waker sees
 * the 1: no wake-up is lost. Sleeps also end after a timeout, so even a peer that scribbles
 * on the words (a hostile guest) costs at most a delay, never a hang.
 */
export interface WakeChannel {
  /** Sends one wake to the peer. */
  send(): void;
  /** Resolves at the next wake from the peer, or after `timeoutMs`. */
  receive(timeoutMs: number): Promise<void>;
  /** Ends a `receive` in progress on this side at once (local work arrived): no wake is sent. */
  interrupt(): void;
  close(): void;
}

export const AWAKE = 0;
export const SLEEPING = 1;

export class Doorbell {
  private ringCount = 0;

  /**
   * @param words shared words; `mine` is this side's sleep word, `peer` the other side's.
   * @param channel how a wake travels (Atomics between threads, a socket between processes).
   */
  constructor(
    private readonly words: Int32Array,
    private readonly mine: number,
    private readonly peer: number,
    private readonly channel: WakeChannel,
  ) {
    Atomics.store(words, mine, AWAKE);
  }

  /** Doorbells rung so far. */
  get rings(): number {
    return this.ringCount;
  }

  /** Wakes the peer if, and only if, it announced that it sleeps. */
  ringIfSleeping(): boolean {
    if (Atomics.compareExchange(this.words, this.peer, SLEEPING, AWAKE) !== SLEEPING) return false;
    this.ringCount++;
    this.channel.send();
    return true;
  }

  /** Announces sleep, re-checks for work, then waits for a ring (or the timeout). */
  async sleep(hasWork: () => boolean, timeoutMs: number): Promise<void> {
    Atomics.store(this.words, this.mine, SLEEPING);
    if (!hasWork()) await this.channel.receive(timeoutMs);
    Atomics.store(this.words, this.mine, AWAKE);
  }

  /** Ends this side's own sleep early, because work arrived locally: not a ring, not counted. */
  wake(): void {
    if (Atomics.load(this.words, this.mine) === SLEEPING) this.channel.interrupt();
  }

  close(): void {
    this.channel.close();
  }
}

/**
 * Wakes between threads: `Atomics.notify` on the peer's sleep word, `Atomics.waitAsync` on
 * ours (never blocks an event loop). Needs words on a SharedArrayBuffer.
 */
export function atomicsWakeChannel(words: Int32Array, mine: number, peer: number): WakeChannel {
  return {
    send() {
      Atomics.notify(words, peer, 1);
    },
    receive(timeoutMs) {
      const result = waitAsync(words, mine, SLEEPING, timeoutMs);
      return result.async ? result.value.then(() => undefined) : Promise.resolve();
    },
    interrupt() {
      Atomics.notify(words, mine);
    },
    close() {
      Atomics.notify(words, mine);
    },
  };
}

/** Atomics.waitAsync (Node 16+); typed here because the ES2023 lib does not declare it. */
type WaitAsync = (
  words: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

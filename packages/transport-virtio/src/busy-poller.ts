import { setImmediate as nextTurn } from 'node:timers/promises';
import { ContentionGuard } from '@vrdma/memory';
import type { PollBudget } from './poll-budget.js';

/** What one side of a virtqueue does in its poll loop. */
export interface PollSide {
  /** Whether there is anything to look for (device: a guest to serve; driver: calls in flight). */
  wanted(): boolean;
  /** One cheap look (an atomic load): did the peer publish something? */
  ready(): boolean;
  /**
   * Takes what the peer published, at most a fair slice; returns how much it took. Called
   * whatever `wanted` says: a peer publishing what this side never asked for is a fault.
   */
  take(): number;
  /** Asks the peer not to ring: this side is looking anyway. */
  quiet(): void;
  /** Asks the peer to ring again, then looks once more: true if work arrived in between. */
  rearm(): boolean;
  /** `take` threw: the ring is broken. */
  failed(error: unknown): void;
}

/** What a side's poll loop is doing, for metrics and tests. */
export interface PollState {
  /** The loop runs; the peer's doorbell is off meanwhile. */
  readonly polling: boolean;
  /** Loops started (by work handed to the peer, or by the peer's doorbell). */
  readonly runs: number;
  /** Looks at the ring while waiting for the peer. */
  readonly looks: number;
  /** Work found by looking, which therefore cost the peer no doorbell. */
  readonly caught: number;
  /**
   * Windows ended early because the cores were oversubscribed (this side waited for a CPU
   * while polling); each puts polling on hold for a while (see ContentionGuard).
   */
  readonly contended: number;
  /** The poll window in use now, in µs. */
  readonly budgetUs: number;
}

/**
 * Looks per spin slice: about a microsecond of atomic loads, after which the loop yields to
 * the event loop (other guests, the data plane, this side's own replies).
 */
export const SPIN_LOOKS = 64;

const nowUs = (): number => performance.now() * 1000;

/**
 * A side's poll loop, as vhost's busy-poll and NAPI do it: once the side has work (handed to
 * the peer, or rung for), it turns the peer's doorbell off and looks at the ring in short spin
 * slices between event-loop turns, until a window (`PollBudget`) passes with nothing new; then
 * it turns the doorbell back on, looks once more (the peer may have published without ringing
 * just before), and sleeps until the doorbell rings.
 */
export class BusyPoller {
  private readonly counters = {
    polling: false,
    runs: 0,
    looks: 0,
    caught: 0,
    contended: 0,
    budgetUs: 0,
  };
  /** When the side last had work (µs, performance clock); -1 before it had any. */
  private idleSince = -1;
  private rang = false;
  /** This run has spun at least once (and so may have waited for a CPU doing it). */
  private spun = false;
  private stopped = false;

  constructor(
    private readonly side: PollSide,
    private readonly budget: PollBudget,
    /** null: polling goes on however busy the cores are. */
    private readonly guard: ContentionGuard | null = new ContentionGuard(),
  ) {
    this.counters.budgetUs = budget.us;
  }

  get state(): PollState {
    return this.counters;
  }

  get polling(): boolean {
    return this.counters.polling;
  }

  /** Whether this side polls now: a window ceiling above 0, no contention hold, not stopped. */
  get enabled(): boolean {
    return this.budget.ceilingUs > 0 && !this.guard?.holding && !this.stopped;
  }

  /**
   * The side is done (its transport closed or failed): no new run starts, a run under way ends
   * at its next look (the side wants nothing any more), and the guard lets go of its clock.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.guard?.dispose();
  }

  /**
   * This side just gave the peer something the peer will answer soon (the driver a request,
   * the device a reply that lets the guest make its next call): the window starts now.
   */
  expectAnswer(): void {
    if (!this.enabled) {
      this.guard?.skip();
      return;
    }
    this.idleSince = nowUs();
    if (!this.counters.polling) void this.run();
  }

  /** The peer's doorbell rang. While the loop runs it will see the work anyway. */
  doorbell(): void {
    if (this.counters.polling) return;
    this.rang = true;
    void this.run();
  }

  private async run(): Promise<void> {
    const { side, counters } = this;
    counters.polling = true;
    counters.runs++;
    let byDoorbell = this.rang;
    this.rang = false;
    const mayPoll = this.enabled;
    if (!mayPoll) this.guard?.skip();
    this.spun = false;
    try {
      side.quiet();
      // A look (spin or rearm) saw work: the take that follows must find it.
      let lookedAndSaw = false;
      for (;;) {
        // The sleep is judged up to this take: serving may reply at once, and the reply
        // restarts the window (expectAnswer) before the take returns.
        const lastWork = this.idleSince;
        const takenAt = byDoorbell ? nowUs() : 0;
        const taken = side.take();
        if (taken > 0) {
          const now = nowUs();
          if (!byDoorbell) counters.caught++;
          else if (lastWork >= 0) this.adapt(takenAt - lastWork);
          this.idleSince = now;
          byDoorbell = false;
          lookedAndSaw = false;
          // Polling, or with more already waiting (a full slice was taken): others get the
          // event loop before the next look. Not polling, the side rearms at once, as before.
          if (this.enabled || side.ready()) await nextTurn();
          continue;
        }
        byDoorbell = false;
        if (lookedAndSaw) {
          // Only a peer scribbling on the ring makes a look and a take disagree: never spin
          // on that; leave it to the doorbell.
          side.rearm();
          return;
        }
        const look = mayPoll && side.wanted() ? this.idleLook() : 'stop';
        if (look === 'work') lookedAndSaw = true;
        if (look === 'wait') await nextTurn();
        if (look !== 'stop') continue;
        lookedAndSaw = side.rearm();
        if (!lookedAndSaw) return;
        side.quiet();
      }
    } catch (error) {
      side.failed(error);
    } finally {
      this.guard?.endRun();
      // Synchronously with the last look: a doorbell heard after it starts a new loop.
      counters.polling = false;
    }
  }

  /**
   * One look while the peer has not answered: 'work' when it saw some, 'wait' to look again
   * after a turn of the event loop, 'stop' when the window is over or the cores are too busy.
   */
  private idleLook(): 'work' | 'wait' | 'stop' {
    const now = nowUs();
    const windowOver = this.idleSince < 0 || now - this.idleSince >= this.budget.us;
    if (windowOver) {
      if (this.spun && this.guard?.contended(now, true)) this.contended();
      return 'stop';
    }
    if (this.guard?.contended(now)) {
      this.contended();
      return 'stop';
    }
    this.spun = true;
    return this.spin() ? 'work' : 'wait';
  }

  /** More threads want the cores than there are: spinning takes the CPU the peer needs. */
  private contended(): void {
    this.counters.contended++;
    this.guard?.hold();
    this.budget.contended();
    this.counters.budgetUs = this.budget.us;
  }

  private spin(): boolean {
    for (let i = 1; i <= SPIN_LOOKS; i++) {
      if (this.side.ready()) {
        this.counters.looks += i;
        return true;
      }
    }
    this.counters.looks += SPIN_LOOKS;
    return false;
  }

  private adapt(idleUs: number): void {
    this.budget.afterSleep(idleUs);
    this.counters.budgetUs = this.budget.us;
  }
}

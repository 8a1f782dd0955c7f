import { setImmediate as nextTurn } from 'node:timers/promises';
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
  /** Windows ended early because the OS took the core away mid-look (cores oversubscribed). */
  readonly preempted: number;
  /** The poll window in use now, in µs. */
  readonly budgetUs: number;
}

/**
 * Looks per spin slice: about a microsecond of atomic loads, after which the loop yields to
 * the event loop (other guests, the data plane, this side's own replies).
 */
export const SPIN_LOOKS = 64;

/**
 * A spin slice that took longer than this was not spinning: the OS (or the hypervisor) ran
 * something else on the core meanwhile. Its looks take about a microsecond.
 */
export const PREEMPTED_SLICE_US = 50;

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
    preempted: 0,
    budgetUs: 0,
  };
  /** When the side last had work (µs, performance clock); -1 before it had any. */
  private idleSince = -1;
  private rang = false;

  constructor(
    private readonly side: PollSide,
    private readonly budget: PollBudget,
  ) {
    this.counters.budgetUs = budget.us;
  }

  get state(): PollState {
    return this.counters;
  }

  get polling(): boolean {
    return this.counters.polling;
  }

  /** Whether this side polls at all (a window ceiling above 0). */
  get enabled(): boolean {
    return this.budget.ceilingUs > 0;
  }

  /**
   * This side just gave the peer something the peer will answer soon (the driver a request,
   * the device a reply that lets the guest make its next call): the window starts now.
   */
  expectAnswer(): void {
    if (!this.enabled) return;
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
    try {
      side.quiet();
      // A look (spin or rearm) saw work: the take that follows must find it.
      let lookedAndSaw = false;
      for (;;) {
        const taken = side.take();
        if (taken > 0) {
          const now = nowUs();
          if (!byDoorbell) counters.caught++;
          else if (this.idleSince >= 0) this.adapt(now - this.idleSince);
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
        if (side.wanted() && this.windowOpen()) {
          const look = this.spin();
          if (look === 'work') lookedAndSaw = true;
          if (look === 'nothing') await nextTurn();
          if (look !== 'preempted') continue;
          // More threads want the cores than there are: the peer may not even be running
          // while we spin, and the core we spin on is one it could use. Give it back now.
          counters.preempted++;
          this.budget.preempted();
          counters.budgetUs = this.budget.us;
        }
        lookedAndSaw = side.rearm();
        if (!lookedAndSaw) return;
        side.quiet();
      }
    } catch (error) {
      side.failed(error);
    } finally {
      // Synchronously with the last look: a doorbell heard after it starts a new loop.
      counters.polling = false;
    }
  }

  private windowOpen(): boolean {
    return this.idleSince >= 0 && nowUs() - this.idleSince < this.budget.us;
  }

  private spin(): 'work' | 'nothing' | 'preempted' {
    const started = nowUs();
    for (let i = 1; i <= SPIN_LOOKS; i++) {
      if (this.side.ready()) {
        this.counters.looks += i;
        return 'work';
      }
    }
    this.counters.looks += SPIN_LOOKS;
    return nowUs() - started > PREEMPTED_SLICE_US ? 'preempted' : 'nothing';
  }

  private adapt(idleUs: number): void {
    this.budget.afterSleep(idleUs);
    this.counters.budgetUs = this.budget.us;
  }
}

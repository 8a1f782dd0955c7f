import { setImmediate as nextTurn } from 'node:timers/promises';
import { VrdmaError } from '@vrdma/api-spec';
import { ContentionGuard, type Doorbell } from '@vrdma/memory';

/** How a side looks for work before it sleeps. */
export interface PollOptions {
  /** Synchronous looks at the ring in one burst, between event-loop turns. */
  spinIterations?: number;
  /**
   * The longest an idle side keeps looking (bursts of synchronous looks, each followed by an
   * event-loop turn so the rest of the process runs) before it announces sleep, in µs.
   * The budget in use adapts between MIN_SPIN_BUDGET_US and this: it doubles each time
   * looking found work, and halves each time it ended in sleep. On an idle machine the peer
   * answers within the budget and doorbells vanish; when the cores are oversubscribed the
   * peer often cannot run while we spin, so spinning only delays it, and the budget shrinks
   * to let the doorbell do the work.
   */
  spinBudgetUs?: number;
  /** Longest sleep; a lost wake (only a hostile peer can cause one) costs at most this. */
  sleepTimeoutMs?: number;
  /**
   * Spin even while the cores are oversubscribed (cores set aside for vrdma). By default a
   * side that waited for a CPU while it looked sleeps on its doorbell at once for a while
   * (see ContentionGuard, in @vrdma/memory).
   */
  pollWhenContended?: boolean;
}

const DEFAULTS: Required<PollOptions> = {
  spinIterations: 256,
  spinBudgetUs: 100,
  sleepTimeoutMs: 250,
  pollWhenContended: false,
};
/** The adaptive budget never drops below this, so looking can prove itself worth again. */
export const MIN_SPIN_BUDGET_US = 4;
/** Progress steps in a row before the loop lets the event loop run (async handlers, I/O). */
const STEPS_PER_TURN = 32;

export interface PollTarget {
  /** Does whatever can be done now; true if anything moved. */
  step(): boolean;
  /** Cheap check: would `step` move something? */
  hasWork(): boolean;
  /** Whether the loop should keep going (guest: calls pending; host: serving). */
  active(): boolean;
  /**
   * True while the peer is sure to send more soon (the host: the guest has posted calls the
   * engine is still working on, whose completions it will answer with new posts): the loop
   * keeps looking, one burst per event-loop turn, instead of sleeping and costing a doorbell.
   */
  busy?(): boolean;
  /** Called just before the side announces sleep (the guest: says after what it wants a ring). */
  beforeSleep?(): void;
  /** The ring broke: the loop stops. */
  failed(error: VrdmaError): void;
}

/** What a Poller did, for tests and metrics: counts, never times. */
export interface PollerCounters {
  /** Idle periods (waits for the peer) that ended in sleep on the doorbell. */
  sleeps: number;
  /** Of those, the ones that slept at once, without spinning: contention held polling off. */
  heldSleeps: number;
  /** Times the guard saw this thread wait for a CPU while it looked; each holds polling off. */
  contended: number;
}

const nowUs = (): number => performance.now() * 1000;

/**
 * Bounded polling (spin bursts between event-loop turns), then sleep announced on the doorbell.
 *
 * Spinning pays only while the cores have room. When more threads want them than there are
 * (many guests on few cores), a spinning side takes the CPU its peer needs to answer it (a
 * guest's spin is the host's engine time), and Linux then runs it last, also when its doorbell
 * wakes it. So, as transport-virtio's loop does, the poller reads this thread's run-queue wait
 * (ContentionGuard) when an idle period starts and every 100 µs of looking; on that sign it
 * sleeps on the doorbell at once, and for its next HOLD_RUNS idle periods it does not spin at
 * all (one look, the doorbell's own, before each sleep). The adaptive budget is left as it was:
 * it says how soon the peer answers when it can run, which contention does not change, and
 * polling resumes with it once the hold is over (the first look then samples again).
 *
 * The host's busy mode (one look per event-loop turn while the engine still works on the
 * guest's posts) is not held off: it is not a spin, the thread that runs it is the one that
 * serves, and its look sits between the engine's own turns; sleeping instead would make each
 * of the guest's next posts cost a doorbell and a wake-up through the busy run queue.
 */
export class Poller {
  private running = false;
  private stopped = false;
  private readonly options: Required<PollOptions>;
  private budgetUs: number;
  private readonly guard: ContentionGuard | null;
  private readonly stats: PollerCounters = { sleeps: 0, heldSleeps: 0, contended: 0 };

  /** `guard`: by default one on this thread's run-queue clock; null never holds polling off. */
  constructor(
    private readonly target: PollTarget,
    private readonly doorbell: Doorbell,
    options: PollOptions = {},
    guard?: ContentionGuard | null,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.budgetUs = this.options.spinBudgetUs;
    this.guard =
      guard !== undefined ? guard : this.options.pollWhenContended ? null : new ContentionGuard();
  }

  /** The spin budget in use now, in µs (adapts; see PollOptions.spinBudgetUs). */
  get spinBudgetUs(): number {
    return this.budgetUs;
  }

  get counters(): Readonly<PollerCounters> {
    return this.stats;
  }

  /**
   * The side is done (its endpoint failed or closed): the guard lets go of the thread's
   * statistics file. A loop still running ends at its next look at `active()`.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.guard?.dispose();
  }

  /** Starts the loop unless it runs already. */
  kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    const { target } = this;
    const { spinIterations, spinBudgetUs: maxBudgetUs } = this.options;
    const minBudgetUs = Math.min(MIN_SPIN_BUDGET_US, maxBudgetUs);
    try {
      let steps = 0;
      let idleSince = -1;
      while (target.active()) {
        if (target.step()) {
          if (idleSince >= 0) {
            // Looking paid off: the peer answers within our budget.
            this.budgetUs = Math.min(maxBudgetUs, this.budgetUs * 2);
            idleSince = -1;
          }
          if (++steps >= STEPS_PER_TURN) {
            steps = 0;
            await nextTurn();
          }
          continue;
        }
        steps = 0;
        if (target.busy?.()) {
          // One look per event-loop turn: cheap beside the engine's own turns, and no doorbell.
          idleSince = -1;
          await nextTurn();
          continue;
        }
        const { guard } = this;
        if (idleSince < 0 && guard?.holding) {
          // Contention was seen lately: no spin, the doorbell's own look, then sleep.
          guard.skip();
          this.stats.heldSleeps++;
          await this.sleep();
          continue;
        }
        if (guard?.contended(nowUs())) {
          // This thread waited for a CPU since the last sample: looking takes the peer's CPU.
          idleSince = -1;
          this.stats.contended++;
          guard.hold();
          await this.sleep();
          continue;
        }
        let found = false;
        for (let i = 0; i < spinIterations && !found; i++) found = target.hasWork();
        if (found) continue;
        const now = performance.now();
        if (idleSince < 0) idleSince = now;
        if ((now - idleSince) * 1000 < this.budgetUs) {
          await nextTurn();
          continue;
        }
        idleSince = -1;
        this.budgetUs = Math.max(minBudgetUs, this.budgetUs / 2);
        if (guard?.contended(nowUs(), true)) {
          this.stats.contended++;
          guard.hold();
        }
        await this.sleep();
      }
    } catch (error) {
      target.failed(VrdmaError.from(error, 'TRANSPORT'));
    } finally {
      // Synchronously with the last look at active(): a call made after it restarts the loop.
      this.running = false;
    }
  }

  /** Sleep announced on the doorbell; the next idle period's first look samples the clock. */
  private async sleep(): Promise<void> {
    const { target } = this;
    this.stats.sleeps++;
    this.guard?.endRun();
    target.beforeSleep?.();
    await this.doorbell.sleep(
      () => target.hasWork() || !target.active(),
      this.options.sleepTimeoutMs,
    );
  }
}

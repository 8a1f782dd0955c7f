import { setImmediate as nextTurn } from 'node:timers/promises';
import { VrdmaError } from '@vrdma/api-spec';
import type { Doorbell } from '@vrdma/memory';

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
}

const DEFAULTS: Required<PollOptions> = {
  spinIterations: 256,
  spinBudgetUs: 100,
  sleepTimeoutMs: 250,
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
  /** The ring broke: the loop stops. */
  failed(error: VrdmaError): void;
}

/** Bounded polling (spin bursts between event-loop turns), then sleep announced on the doorbell. */
export class Poller {
  private running = false;
  private readonly options: Required<PollOptions>;
  private budgetUs: number;

  constructor(
    private readonly target: PollTarget,
    private readonly doorbell: Doorbell,
    options: PollOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.budgetUs = this.options.spinBudgetUs;
  }

  /** The spin budget in use now, in µs (adapts; see PollOptions.spinBudgetUs). */
  get spinBudgetUs(): number {
    return this.budgetUs;
  }

  /** Starts the loop unless it runs already. */
  kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    const { target } = this;
    const { spinIterations, spinBudgetUs: maxBudgetUs, sleepTimeoutMs } = this.options;
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
        await this.doorbell.sleep(() => target.hasWork() || !target.active(), sleepTimeoutMs);
      }
    } catch (error) {
      target.failed(VrdmaError.from(error, 'TRANSPORT'));
    } finally {
      // Synchronously with the last look at active(): a call made after it restarts the loop.
      this.running = false;
    }
  }
}

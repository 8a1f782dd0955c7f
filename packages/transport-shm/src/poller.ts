import { setImmediate as nextTurn } from 'node:timers/promises';
import { VrdmaError } from '@vrdma/api-spec';
import type { Doorbell } from './doorbell.js';

/** How a side looks for work before it sleeps. */
export interface PollOptions {
  /** Synchronous looks at the ring in one burst, between event-loop turns. */
  spinIterations?: number;
  /**
   * How long an idle side keeps looking (bursts of synchronous looks, each followed by an
   * event-loop turn so the rest of the process runs) before it announces sleep, in µs.
   * Bounded: on 2 cores an unbounded spin starves everyone else.
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
/** Progress steps in a row before the loop lets the event loop run (async handlers, I/O). */
const STEPS_PER_TURN = 32;

export interface PollTarget {
  /** Does whatever can be done now; true if anything moved. */
  step(): boolean;
  /** Cheap check: would `step` move something? */
  hasWork(): boolean;
  /** Whether the loop should keep going (guest: calls pending; host: serving). */
  active(): boolean;
  /** The ring broke: the loop stops. */
  failed(error: VrdmaError): void;
}

/** Bounded polling (spin bursts between event-loop turns), then sleep announced on the doorbell. */
export class Poller {
  private running = false;
  private readonly options: Required<PollOptions>;

  constructor(
    private readonly target: PollTarget,
    private readonly doorbell: Doorbell,
    options: PollOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Starts the loop unless it runs already. */
  kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    const { target } = this;
    const { spinIterations, spinBudgetUs, sleepTimeoutMs } = this.options;
    try {
      let steps = 0;
      let idleSince = -1;
      while (target.active()) {
        if (target.step()) {
          idleSince = -1;
          if (++steps >= STEPS_PER_TURN) {
            steps = 0;
            await nextTurn();
          }
          continue;
        }
        steps = 0;
        let found = false;
        for (let i = 0; i < spinIterations && !found; i++) found = target.hasWork();
        if (found) continue;
        const now = performance.now();
        if (idleSince < 0) idleSince = now;
        if ((now - idleSince) * 1000 < spinBudgetUs) {
          await nextTurn();
          continue;
        }
        idleSince = -1;
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

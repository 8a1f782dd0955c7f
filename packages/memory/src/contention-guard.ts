import { type RunDelayClock, schedstatRunDelay } from './run-delay.js';

/** How often a polling loop asks how long it waited for a CPU, in µs of polling. */
export const WAIT_SAMPLE_US = 100;

/**
 * Run-queue wait since the last sample that means the cores are oversubscribed, when it is
 * also over CONTENDED_SHARE of the time since: well above a kernel thread's blip, well below
 * the milliseconds a CPU hog's timeslice lasts.
 */
export const CONTENDED_WAIT_US = 50;
export const CONTENDED_SHARE = 0.1;

/** Loop runs that poll not at all after contention was seen; then polling must prove itself. */
export const HOLD_RUNS = 32;

/**
 * Busy polling pays only while the cores have room: when more threads want them than there
 * are, the OS preempts the spinning side (its peer or other work wanted that core) and, as it
 * has used its share, runs it last, also when its doorbell later wakes it; a side that sleeps
 * on its doorbell is woken first. KVM stops halt-polling as soon as another task is runnable;
 * an event loop cannot see the run queue, but it can see its own waits on it
 * (`RunDelayClock`), while it polls and, read when the next run starts polling, on its way
 * back from a doorbell: on that sign the loop stops polling for its next HOLD_RUNS runs.
 * (Timing a spin slice instead is fooled by lazy compilation and garbage collection, which
 * are not contention.) Where the clock is unknown (not Linux), polling goes on regardless.
 */
export class ContentionGuard {
  private holdRuns = 0;
  /** Run-queue wait at the last sample, and when that was (µs); kept from run to run. */
  private lastWait: number | undefined;
  private lastAt = 0;
  /** When this run last sampled; -1 before it has. */
  private sampledAt = -1;
  private disposed = false;

  constructor(private readonly waits: RunDelayClock = schedstatRunDelay()) {}

  /** Polling is on hold after contention. */
  get holding(): boolean {
    return this.holdRuns > 0;
  }

  /** A run (or a wait for an answer) goes by without polling: one less to hold. */
  skip(): void {
    if (this.holdRuns > 0) this.holdRuns--;
  }

  /** Holds polling for the next HOLD_RUNS runs. */
  hold(): void {
    this.holdRuns = HOLD_RUNS;
  }

  /**
   * Called on the idle looks of a run: reads the run-queue wait on the run's first look,
   * every WAIT_SAMPLE_US, and on the `last` look before it stops polling; true when the wait
   * since the sample before says the cores are oversubscribed.
   */
  contended(nowUs: number, last = false): boolean {
    if (this.disposed) return false;
    if (!last && this.sampledAt >= 0 && nowUs - this.sampledAt < WAIT_SAMPLE_US) return false;
    this.sampledAt = nowUs;
    const waited = this.waits.read();
    if (waited === undefined) return false;
    const waitedSince = waited - (this.lastWait ?? waited);
    const since = nowUs - this.lastAt;
    this.lastWait = waited;
    this.lastAt = nowUs;
    return waitedSince > CONTENDED_WAIT_US && waitedSince > CONTENDED_SHARE * since;
  }

  /** The run ended: the next run's first look samples again. */
  endRun(): void {
    this.sampledAt = -1;
  }

  /**
   * The side is done (its transport closed): lets go of the clock (the thread's statistics
   * file, shared by every guard in the thread); from now on nothing is sampled.
   */
  dispose(): void {
    this.disposed = true;
    this.waits.release();
  }
}

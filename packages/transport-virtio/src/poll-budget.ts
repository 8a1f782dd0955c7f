/** The adaptive budget never drops below this, so polling can prove itself worth again. */
export const MIN_POLL_BUDGET_US = 4;

/**
 * Default ceiling of the poll window: KVM's default halt-poll ceiling. Here a doorbell takes
 * 20–60 µs to wake the other thread's event loop, so a round trip that needed one comes back
 * after 50–150 µs; a ceiling below that shrinks every window it should grow (measured: at
 * 100 µs the sides kept falling back to doorbells, at 200 µs they settle at polling).
 */
export const DEFAULT_POLL_BUDGET_US = 200;

/**
 * How long a side keeps polling its ring after it last had work, before it re-enables the
 * peer's doorbell and sleeps: KVM's halt-polling rule, judged each time work arrives after a
 * sleep. The idle stretch is the time from the side's last work to this work.
 *
 * - longer than the ceiling: polling would have found nothing (the peer is idle or slow), so
 *   the window halves: an idle guest costs a few µs of looking per call, then nothing;
 * - shorter than the ceiling but longer than the window: a slightly longer window would have
 *   caught it without a doorbell, so the window doubles.
 *
 * Work found while polling leaves the window as it is. Growing only when polling itself found
 * work (transport-shm's rule) never grows a window that has shrunk below the peer's answer
 * time: every call then comes by doorbell, so polling never finds anything.
 *
 * And when the cores turn out oversubscribed while the side polls (see ContentionGuard), the
 * window drops to the floor: polling must prove itself again from there.
 */
export class PollBudget {
  private current: number;

  /** @param ceilingUs the longest window, in µs; 0 turns polling off. */
  constructor(readonly ceilingUs: number) {
    if (!(ceilingUs >= 0)) throw new RangeError(`poll budget ${ceilingUs} µs is not ≥ 0`);
    this.current = ceilingUs;
  }

  /** The window in use now, in µs. */
  get us(): number {
    return this.current;
  }

  /** The side waited for a CPU while it polled: spinning took the CPU its peer needs. */
  contended(): void {
    this.current = Math.min(MIN_POLL_BUDGET_US, this.ceilingUs);
  }

  /** The side slept, then got work `idleUs` after it last had some. */
  afterSleep(idleUs: number): void {
    if (this.ceilingUs === 0) return;
    if (idleUs > this.ceilingUs) {
      this.halve();
    } else if (idleUs > this.current) {
      this.current = Math.min(this.ceilingUs, this.current * 2);
    }
  }

  private halve(): void {
    this.current = Math.max(Math.min(MIN_POLL_BUDGET_US, this.ceilingUs), this.current / 2);
  }
}

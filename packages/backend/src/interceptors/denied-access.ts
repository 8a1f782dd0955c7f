import type { ApiSpec, CompiledFunction, CompiledQueue } from '@vrdma/api-spec';
import { VrdmaError } from '@vrdma/api-spec';
import type { AuditLog } from '../audit-log.js';
import type { DeniedAccessLimits } from '../config.js';
import { type GuestIdentity, isPending, type SyncInterceptor } from '../interceptor.js';
import { Refusal } from '../refusal.js';

/**
 * One guest's failed access checks (completions its spec calls `denied`: a wrong key or a wrong
 * range), counted, audited and rationed. A guest starts with `budget` failures; the budget
 * refills at `refillPerSecond`. While it is spent, the guest's remote accesses (the posted
 * functions of a queue that reports denials) are refused with QUOTA_EXCEEDED before they reach
 * the engine; once failures and refusals together reach `disconnectAfter`, the guest is let go.
 * Guessing a key thus costs a guest a bounded rate, whatever it sends.
 */
export class DeniedAccess {
  /** Failed access checks the engine reported. */
  denied = 0;
  /** Remote accesses refused while the budget was spent. */
  throttled = 0;
  private tokens: number;
  private refilledAt: number;
  private disconnected = false;
  private readonly reapers = new Map<CompiledFunction, CompiledQueue>();

  constructor(
    private readonly guest: GuestIdentity,
    private readonly spec: ApiSpec,
    private readonly limits: DeniedAccessLimits,
    private readonly audit: AuditLog,
    private readonly disconnect: (reason: VrdmaError) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limits.budget;
    this.refilledAt = now();
    for (const queue of spec.queues.queues.values()) {
      if (!queue.denied) continue;
      this.reapers.set(queue.poll, queue);
      this.reapers.set(queue.wait, queue);
    }
  }

  /** Counts denials in what the guest's queues reap, and refuses remote accesses while throttled. */
  readonly interceptor: SyncInterceptor = (next) => (call) => {
    if (this.reapers.size === 0) return next(call);
    if (this.spec.queues.queueOf(call.fn)?.denied) this.admit(call.fn);
    const queue = this.reapers.get(call.fn);
    if (!queue) return next(call);
    const result = next(call);
    if (!isPending(result)) {
      this.count(queue, result);
      return result;
    }
    return Promise.resolve(result).then((value) => {
      this.count(queue, value);
      return value;
    });
  };

  /** Failures the guest may still have before its remote accesses are refused. */
  get budget(): number {
    this.refill();
    return Math.max(0, Math.floor(this.tokens));
  }

  private admit(fn: CompiledFunction): void {
    this.refill();
    if (this.tokens >= 1) return;
    this.throttled += 1;
    this.strike();
    throw new Refusal(
      'access',
      'QUOTA_EXCEEDED',
      `${fn.name} refused: ${this.denied} failed access checks spent the budget of ${this.limits.budget} (it refills ${this.limits.refillPerSecond}/s)`,
    );
  }

  private count(queue: CompiledQueue, result: unknown): void {
    const entries = (result as Record<string, unknown> | undefined)?.[queue.entries];
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (!queue.denied!(entry as Record<string, unknown>)) continue;
      this.refill();
      this.denied += 1;
      // May go below zero: calls already in flight when the budget ran out are paid back later.
      this.tokens -= 1;
      this.audit.add({
        guest: this.guest.id,
        label: this.guest.label,
        kind: 'access',
        message: `a remote access failed its access check (${this.denied} so far)`,
      });
      this.strike();
    }
  }

  private strike(): void {
    if (this.disconnected || this.denied + this.throttled < this.limits.disconnectAfter) return;
    this.disconnected = true;
    this.disconnect(
      new VrdmaError(
        'QUOTA_EXCEEDED',
        `disconnected after ${this.denied} failed access checks and ${this.throttled} refused remote accesses`,
      ),
    );
  }

  private refill(): void {
    const now = this.now();
    const gained = ((now - this.refilledAt) / 1000) * this.limits.refillPerSecond;
    this.refilledAt = now;
    this.tokens = Math.min(this.limits.budget, this.tokens + gained);
  }
}

import type { FairScheduler } from '../fair-scheduler.js';
import type { SyncInterceptor } from '../interceptor.js';

/**
 * Data-plane calls that cost the engine something (by default the bytes their buffer references
 * name) go through the host's one fair scheduler; everything else goes straight on. It must run
 * after isolation: a cost is then computed from references already checked against the guest's
 * own memory, so a length the guest does not own is refused before it is charged. A cost that
 * is not a number of bytes (NaN from a spec's own cost function) is refused by the scheduler,
 * never let through for free.
 */
export function fairness(scheduler: FairScheduler): SyncInterceptor {
  return (next) => (call) => {
    const cost = call.fn.cost(call.args);
    if (cost <= 0) return next(call);
    // A posted call's bytes stay in the engine's window until the host reaps its completion.
    // The host's transports hand over one guest's calls per event-loop turn: runNow.
    return scheduler.runNow(call.guest.id, cost, () => next(call), { held: call.posted === true });
  };
}

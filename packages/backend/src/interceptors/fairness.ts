import type { FairScheduler } from '../fair-scheduler.js';
import type { HostInterceptor } from '../interceptor.js';

/**
 * Data-plane calls that cost the engine something (by default the bytes their buffer references
 * name) go through the host's one fair scheduler; everything else goes straight on.
 */
export function fairness(scheduler: FairScheduler): HostInterceptor {
  return (next) => (call) => {
    const cost = call.fn.cost(call.args);
    if (cost <= 0) return next(call);
    return scheduler.run(call.guest.id, cost, () => next(call));
  };
}

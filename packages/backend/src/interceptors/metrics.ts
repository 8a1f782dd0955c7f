import { VrdmaError } from '@vrdma/api-spec';
import { isPending, type SyncInterceptor } from '../interceptor.js';
import type { GuestMetrics } from '../metrics.js';

/** Times every call and counts it by function, and every failure by code. */
export function metrics(counters: GuestMetrics): SyncInterceptor {
  return (next) => (call) => {
    const started = performance.now();
    let result: unknown;
    try {
      result = next(call);
    } catch (error) {
      counters.recordError(VrdmaError.from(error).code);
      counters.recordCall(call.fn.name, (performance.now() - started) * 1000);
      throw error;
    }
    if (!isPending(result)) {
      counters.recordCall(call.fn.name, (performance.now() - started) * 1000);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        counters.recordCall(call.fn.name, (performance.now() - started) * 1000);
        return value;
      },
      (error: unknown) => {
        counters.recordError(VrdmaError.from(error).code);
        counters.recordCall(call.fn.name, (performance.now() - started) * 1000);
        throw error;
      },
    );
  };
}

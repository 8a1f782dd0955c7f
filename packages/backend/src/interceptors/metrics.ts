import { VrdmaError } from '@vrdma/api-spec';
import type { HostInterceptor } from '../interceptor.js';
import type { GuestMetrics } from '../metrics.js';

/** Times every call and counts it by function, and every failure by code. */
export function metrics(counters: GuestMetrics): HostInterceptor {
  return (next) => async (call) => {
    const started = performance.now();
    try {
      return await next(call);
    } catch (error) {
      counters.recordError(VrdmaError.from(error).code);
      throw error;
    } finally {
      counters.recordCall(call.fn.name, (performance.now() - started) * 1000);
    }
  };
}

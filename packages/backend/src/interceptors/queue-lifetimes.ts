import type { HostQueues } from '../host-queues.js';
import { type HostCall, isPending, type SyncInterceptor } from '../interceptor.js';

/**
 * A completion queue lives as long as its handle: when a call that releases one (or all of the
 * guest's objects) succeeds, the host stops feeding it. Sits outside isolation: it sees the
 * guest's own handles.
 */
export function queueLifetimes(queues: HostQueues): SyncInterceptor {
  const succeeded = (call: HostCall, result: unknown): unknown => {
    const { fn, spec } = call;
    const releases = fn.releases;
    if (releases && 'all' in releases) queues.releasedAll();
    else if (releases && spec.queues.queues.has(releases.kind))
      queues.released((call.args as Record<string, number>)[releases.field]!);
    return result;
  };
  return (next) => (call) => {
    const result = next(call);
    if (!isPending(result)) return succeeded(call, result);
    return Promise.resolve(result).then((value) => succeeded(call, value));
  };
}

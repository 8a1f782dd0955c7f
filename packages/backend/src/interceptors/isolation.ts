import type { GuestObjects } from '../guest-objects.js';
import { isPending, type SyncInterceptor } from '../interceptor.js';

/**
 * A guest names only its own objects: handles are translated to the engine's (BAD_HANDLE when
 * not its own), buffer references must lie in its own memory (OUT_OF_RANGE), and only the owner
 * of a capability may release it. Results come back with handles minted for the guest.
 */
export function isolation(objects: GuestObjects): SyncInterceptor {
  return (next) => (call) => {
    const result = next({ ...call, args: objects.toEngine(call.fn, call.args) });
    if (!isPending(result)) return objects.fromEngine(call.fn, call.args, result);
    return Promise.resolve(result).then((value) => objects.fromEngine(call.fn, call.args, value));
  };
}

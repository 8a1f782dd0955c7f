import type { GuestObjects } from '../guest-objects.js';
import type { HostInterceptor } from '../interceptor.js';

/**
 * A guest names only its own objects: handles are translated to the engine's (BAD_HANDLE when
 * not its own), buffer references must lie in its own memory (OUT_OF_RANGE), and only the owner
 * of a capability may release it. Results come back with handles minted for the guest.
 */
export function isolation(objects: GuestObjects): HostInterceptor {
  return (next) => async (call) => {
    const result = await next({ ...call, args: objects.toEngine(call.fn, call.args) });
    return objects.fromEngine(call.fn, call.args, result);
  };
}

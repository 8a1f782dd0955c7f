import type { SyncInterceptor } from '../interceptor.js';

/** Every call renews the guest's lease: `touch` records that it is alive. */
export function lease(touch: () => void): SyncInterceptor {
  return (next) => (call) => {
    touch();
    return next(call);
  };
}

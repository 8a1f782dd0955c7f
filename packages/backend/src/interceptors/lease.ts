import type { HostInterceptor } from '../interceptor.js';

/** Every call renews the guest's lease: `touch` records that it is alive. */
export function lease(touch: () => void): HostInterceptor {
  return (next) => (call) => {
    touch();
    return next(call);
  };
}

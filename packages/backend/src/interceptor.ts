import type { ApiSpec, CompiledFunction } from '@vrdma/api-spec';

/** Who is calling. */
export interface GuestIdentity {
  readonly id: number;
  readonly label: string;
}

/** One call of a guest as the host serves it, after its arguments were validated. */
export interface HostCall {
  readonly guest: GuestIdentity;
  readonly spec: ApiSpec;
  readonly fn: CompiledFunction;
  /** The arguments; interceptors nearer the engine see them translated (engine handles). */
  readonly args: unknown;
  /** A posted call: the guest does not wait, and its completion is reaped by the host. */
  readonly posted?: boolean;
}

export type HostHandler = (call: HostCall) => Promise<unknown>;

/**
 * Cross-cutting work around every call (as connect-es interceptors): metrics, audit, quotas,
 * isolation, fairness and the lease are interceptors, and a user may add their own. An
 * interceptor calls `next` to go on, may change the call, and returns (or throws) the result.
 */
export type HostInterceptor = (next: HostHandler) => HostHandler;

/**
 * The host's own handlers give back the result itself when the engine gave it at once (a
 * posted write), a promise of it otherwise, and may throw: a promise per layer per call is
 * most of what a posted call costs the host. Whoever calls one handles all three.
 */
export type SyncHandler = (call: HostCall) => unknown;
export type SyncInterceptor = (next: SyncHandler) => SyncHandler;

/** Wraps `handler` in `interceptors`, the first outermost. */
export function chain<H extends (call: HostCall) => unknown = HostHandler>(
  interceptors: readonly ((next: H) => H)[],
  handler: H,
): H {
  return interceptors.reduceRight((next, interceptor) => interceptor(next), handler);
}

/** Whether a handler's outcome is still to come (a promise, or any thenable `await` adopts). */
export function isPending(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === 'function';
}

/**
 * A user's interceptor among the host's own: its `next` always returns a promise (a throw
 * becomes a rejection), as its type promises.
 */
export function userInterceptor(interceptor: HostInterceptor): SyncInterceptor {
  return (next) =>
    interceptor((call) => {
      try {
        return Promise.resolve(next(call));
      } catch (error) {
        return Promise.reject(error);
      }
    });
}

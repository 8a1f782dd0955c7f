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

/** Wraps `handler` in `interceptors`, the first outermost. */
export function chain(interceptors: readonly HostInterceptor[], handler: HostHandler): HostHandler {
  return interceptors.reduceRight((next, interceptor) => interceptor(next), handler);
}

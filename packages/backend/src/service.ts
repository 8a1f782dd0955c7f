import type { ApiSpec, Engine } from '@vrdma/api-spec';

/** One API a host serves: its spec, and the engine that implements it. */
export interface Service<S extends ApiSpec = ApiSpec> {
  readonly spec: S;
  readonly engine: Engine<S>;
}

/** A service, typed: the engine must implement the very spec it is served under. */
export function service<S extends ApiSpec>(spec: S, engine: Engine<S>): Service<S> {
  return { spec, engine };
}

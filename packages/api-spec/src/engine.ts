import type { ApiOf, ApiSpec } from './define-api.js';
import type { Region } from './region.js';

export interface EngineSessionOptions {
  /**
   * Where the session's buffers live: memory the tenant (a guest) can see. The engine keeps its
   * own records in its own memory, never in the region. Absent for APIs without buffers, or
   * when the engine should allocate memory of its own.
   */
  memory?: Region;
  /** A name for logs and errors, e.g. the guest's label. */
  label?: string;
}

/** One tenant of an engine: the API of spec `S`, and a way to release everything it holds. */
export type EngineSession<S extends ApiSpec = ApiSpec> = ApiOf<S> & {
  /** Releases everything the session holds, whatever state it is in; idempotent. */
  dispose(): Promise<void>;
  /**
   * Optional: takes a posted call (a function the spec marks `posted`) as that function would,
   * but gives back its result itself, or throws, instead of a promise: a host serves each post
   * through it, since a promise per post and per layer above it is most of what a post costs.
   * An engine that can take a post only later leaves this out (or returns a promise).
   */
  postNow?(fn: string, args: unknown): unknown;
};

/** A device that implements an API: what a host serves to its guests, or an application uses natively. */
export interface Engine<S extends ApiSpec = ApiSpec> {
  openSession(options?: EngineSessionOptions): EngineSession<S>;
  /**
   * How many objects of a kind the spec marks `shared` the engine's table holds, all sessions
   * together; undefined when the engine keeps no bounded table of that kind. The host splits
   * it into shares per guest.
   */
  capacityOf?(kind: string): number | undefined;
}

import type { ApiSpec, CompiledFunction } from '@vrdma/api-spec';
import type { Connection } from '@vrdma/frontend';

/** Objects a guest holds, as plain values another guest could name (handles, keys, refs). */
export type HeldObjects = Record<string, unknown>;

/**
 * What the fuzzer needs to know of one served API, and nothing more: the harness itself is
 * generic. A later API (verbs) plugs in with a profile of its own.
 */
export interface ApiProfile<S extends ApiSpec> {
  readonly spec: S;
  /** Brings a fresh connection to a usable state and returns what it now holds. */
  prepare(connection: Connection<S>): Promise<HeldObjects>;
  /** A well-formed call of `fn` on `own` objects: the seed that mutations start from. */
  sampleArgs(fn: CompiledFunction, own: HeldObjects): unknown;
  /**
   * Attempts of `connection` on objects another guest holds (`foreign`); each resolves or
   * rejects as the host answered. The host must refuse every one of them with a typed error.
   * `guess` varies what the attempt guesses (a key, say); it never equals what it guesses.
   */
  foreignAttempts(
    connection: Connection<S>,
    own: HeldObjects,
    foreign: HeldObjects,
    guess: number,
  ): Record<string, () => Promise<unknown>>;
  /** A data-plane call of `connection` naming `ref` as its local bytes; settles as the host answered. */
  callWithRef(
    connection: Connection<S>,
    own: HeldObjects,
    ref: { region: number; offset: number; length: number },
    pick: number,
  ): Promise<unknown>;
  /** A cheap call any guest may make at any time: an answer (even a refusal) is the host alive. */
  ping(connection: Connection<S>): Promise<unknown>;
  /** Calls that each make one more object (of `size` where sizes apply): what hoarding repeats. */
  makers(connection: Connection<S>, own: HeldObjects, size: number): Array<() => Promise<unknown>>;
}

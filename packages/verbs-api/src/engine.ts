import type { ApiOf, BufferRef, ErrorCodeOf, Region } from '@vrdma/api-spec';
import type { VerbsSpec } from './spec.js';

/** The verbs API object: what a stub is, and what a native engine session is. */
export type VerbsApi = ApiOf<VerbsSpec>;

export type VerbsErrorCode = ErrorCodeOf<VerbsSpec>;

/** The arguments object of one verbs function, as an application passes it. */
export type VerbsArgs<K extends keyof VerbsApi> = Parameters<VerbsApi[K]>[0];

/** What one verbs function resolves to. */
export type VerbsResult<K extends keyof VerbsApi> = Awaited<ReturnType<VerbsApi[K]>>;

export interface VerbsSessionOptions {
  /**
   * Where this session's memory regions are allocated: a region the caller (a guest) can see.
   * When absent, the engine allocates memory of its own.
   */
  memory?: Region;
  /** A name for logs and errors, e.g. the guest id. */
  label?: string;
}

/**
 * One tenant of a verbs device: a native application, or one guest seen by the host. Its
 * handles and local keys mean nothing in another session; its remote keys and queue pair
 * numbers are what it hands to peers.
 */
export interface VerbsSession extends VerbsApi {
  /** The bytes a buffer reference names, in the very memory the device reads and writes. */
  view(ref: BufferRef): Uint8Array;
  /** Closes the session as `close` does, and is idempotent: safe after a crash. */
  dispose(): Promise<void>;
}

/** A verbs device (one node's HCA): what the backend drives, or what an application opens natively. */
export interface VerbsEngine {
  /** This device's node: the address peers connect their queue pairs to. */
  readonly node: number;
  openSession(options?: VerbsSessionOptions): VerbsSession;
}

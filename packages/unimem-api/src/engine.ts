import type { ApiOf, BufferRef, ErrorCodeOf, Region } from '@vrdma/api-spec';
import type { UnimemSpec } from './spec.js';

/** The Unimem API object: what a stub is, and what a native engine session is. */
export type UnimemApi = ApiOf<UnimemSpec>;

export type UnimemErrorCode = ErrorCodeOf<UnimemSpec>;

/** The arguments object of one Unimem function, as an application passes it. */
export type UnimemArgs<K extends keyof UnimemApi> = Parameters<UnimemApi[K]>[0];

/** What one Unimem function resolves to. */
export type UnimemResult<K extends keyof UnimemApi> = Awaited<ReturnType<UnimemApi[K]>>;

export interface SessionOptions {
  /**
   * Where this session's buffers are allocated: a region the caller (a guest) can see. The
   * engine keeps its allocation records in its own memory, never in the region. When absent,
   * the engine allocates a region of its own.
   */
  memory?: Region;
  /** A name for logs and errors, e.g. the guest id. */
  label?: string;
}

/**
 * One tenant of an engine: a native application, or one guest seen by the host. Its handles
 * and keys mean nothing in another session.
 */
export interface UnimemSession extends UnimemApi {
  /** The bytes a buffer reference names, in the very memory the engine reads and writes. */
  view(ref: BufferRef): Uint8Array;
  /** Closes the session as `close` does, and is idempotent: safe after a crash. */
  dispose(): Promise<void>;
}

/** A Unimem RDMA engine (one node): the device the backend drives, or used natively. */
export interface UnimemEngine {
  /** This engine's node id. */
  readonly node: number;
  openSession(options?: SessionOptions): UnimemSession;
  /** The size of the node's key table for `'Key'` (shared by all its sessions); else undefined. */
  capacityOf?(kind: string): number | undefined;
}

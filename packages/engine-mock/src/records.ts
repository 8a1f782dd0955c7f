import type { Region } from '@vrdma/api-spec';

export type Access = 'read' | 'write' | 'read-write';

/** A buffer as the engine records it (in engine memory, never in the shared region). */
export interface BufferRecord {
  readonly handle: number;
  readonly region: Region;
  readonly offset: number;
  readonly size: number;
  readonly address: bigint;
  /** Transfers queued that read or write this buffer, local or remote side. */
  inflight: number;
  readonly keys: Set<number>;
}

/** What an exported key grants. */
export interface Grant {
  readonly key: number;
  readonly buffer: BufferRecord;
  readonly access: Access;
}

export function grants(access: Access, wanted: 'read' | 'write'): boolean {
  return access === 'read-write' || access === wanted;
}

import type { BufferRef, Handle } from '@vrdma/api-spec';
import type { AccessFlags } from '@vrdma/verbs-api';

/** A registered memory region: a Unimem buffer, its keys, and what it grants. */
export interface MemoryRegion {
  readonly pd: Handle<'Pd'>;
  /** The Unimem buffer behind it (freed on deregistration). */
  readonly buffer: Handle<'Buffer'>;
  readonly ref: BufferRef;
  /** Its Unimem global address: what peers name it by. */
  readonly address: bigint;
  readonly access: Required<AccessFlags>;
  readonly lkey: number;
  /** The Unimem key peers present (0: no remote access, a key Unimem never mints). */
  readonly rkey: number;
  /** A write key only the device uses, to deliver a SEND into a receive posted in this region. */
  readonly deliveryKey: number;
  deregistered: boolean;
}

/** Whether `ref` lies inside the region (same memory, in bounds). */
export function contains(region: MemoryRegion, ref: BufferRef): boolean {
  return (
    ref.region === region.ref.region &&
    ref.offset >= region.ref.offset &&
    ref.offset + ref.length <= region.ref.offset + region.ref.length
  );
}

/** The global address of `ref`, a part of the region. */
export function addressOf(region: MemoryRegion, ref: BufferRef): bigint {
  return region.address + BigInt(ref.offset - region.ref.offset);
}

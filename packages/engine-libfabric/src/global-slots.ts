import { VrdmaError } from '@vrdma/api-spec';

/**
 * A node's global address space, cut in 4 GiB slots: a buffer is slot × 2^32 + offset, one
 * slot per buffer (slot 0 unused, so no buffer sits at address 0). The slot goes into the
 * libfabric key of every registration of the buffer, so a key presented with another
 * buffer's address names no registration at all.
 */
export const SLOT_SIZE = 2 ** 32;
const MAX_SLOT = 0xfffe;

export class GlobalSlots {
  private readonly free: number[] = [];
  private next = 1;

  take(): number {
    const slot = this.free.pop() ?? this.next;
    if (slot === this.next) {
      if (slot > MAX_SLOT)
        throw new VrdmaError('NO_MEMORY', `a node holds at most ${MAX_SLOT} buffers`);
      this.next += 1;
    }
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }
}

/** The libfabric MR key of a registration: its buffer's slot above the 32-bit Unimem key. */
export function registrationKey(slot: number, key: number): number {
  return slot * SLOT_SIZE + key;
}

/** A node offset split into its slot and the offset inside the buffer in that slot. */
export function splitNodeOffset(nodeOffset: bigint): { slot: number; within: number } {
  const offset = Number(nodeOffset);
  return { slot: Math.floor(offset / SLOT_SIZE), within: offset % SLOT_SIZE };
}

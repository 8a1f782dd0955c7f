import type { Region } from '@vrdma/api-spec';
import { DEVICE_FEATURES, type Features } from './features.js';
import { AVAIL_IDX, AVAIL_RING, planQueue, type QueueAddresses } from './layout.js';
import { RingMemory } from './ring-memory.js';

/**
 * Test support: a region placed between two guard areas of one SharedArrayBuffer, and raw
 * writers for a driver that builds rings by hand (the way a hostile one would).
 */
export const GUARD_BYTES = 256;
const GUARD_VALUE = 0xa5;

export interface RingFixture {
  readonly region: Region;
  readonly queue: QueueAddresses;
  readonly memory: RingMemory;
  readonly features: Features;
  /** First byte after the queue, free for buffers and indirect tables. */
  readonly heap: number;
  desc(
    index: number,
    d: { addr: number | bigint; len: number; flags?: number; next?: number },
  ): void;
  /** Writes a raw descriptor at any region offset (indirect tables). */
  descAt(
    at: number,
    d: { addr: number | bigint; len: number; flags?: number; next?: number },
  ): void;
  /** Puts `head` in the avail ring and publishes it. */
  offer(head: number): void;
  setAvailIdx(idx: number): void;
  guardsIntact(): boolean;
}

export function createRingFixture(
  options: { size?: number; regionBytes?: number; features?: Features } = {},
): RingFixture {
  const regionBytes = options.regionBytes ?? 16384;
  const backing = new Uint8Array(new SharedArrayBuffer(regionBytes + 2 * GUARD_BYTES));
  backing.fill(GUARD_VALUE, 0, GUARD_BYTES);
  backing.fill(GUARD_VALUE, GUARD_BYTES + regionBytes);
  const bytes = backing.subarray(GUARD_BYTES, GUARD_BYTES + regionBytes);
  const region: Region = { id: 1, size: regionBytes, bytes };
  const queue = planQueue(0, options.size ?? 8);
  const memory = new RingMemory(region);
  let availIdx = 0;
  const descAt: RingFixture['descAt'] = (at, d) => {
    const view = memory.view;
    view.setBigUint64(at, BigInt(d.addr), true);
    view.setUint32(at + 8, d.len, true);
    view.setUint16(at + 12, d.flags ?? 0, true);
    view.setUint16(at + 14, d.next ?? 0, true);
  };
  return {
    region,
    queue,
    memory,
    features: options.features ?? DEVICE_FEATURES,
    heap: queue.end + (16 - (queue.end % 16)),
    desc: (index, d) => descAt(queue.desc + 16 * index, d),
    descAt,
    offer(head) {
      memory.setU16(queue.avail + AVAIL_RING + 2 * (availIdx & (queue.size - 1)), head);
      availIdx = (availIdx + 1) & 0xffff;
      memory.store16(queue.avail + AVAIL_IDX, availIdx);
    },
    setAvailIdx(idx) {
      availIdx = idx & 0xffff;
      memory.store16(queue.avail + AVAIL_IDX, availIdx);
    },
    guardsIntact() {
      const low = backing.subarray(0, GUARD_BYTES);
      const high = backing.subarray(GUARD_BYTES + regionBytes);
      return low.every((b) => b === GUARD_VALUE) && high.every((b) => b === GUARD_VALUE);
    },
  };
}

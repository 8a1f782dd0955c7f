import { VrdmaError } from '@vrdma/api-spec';
import {
  MAX_QUEUE_SIZE,
  VRING_AVAIL_ALIGN_SIZE,
  VRING_DESC_ALIGN_SIZE,
  VRING_DESC_SIZE,
  VRING_USED_ALIGN_SIZE,
  VRING_USED_ELEM_SIZE,
} from './constants.js';

/**
 * Where the three areas of one split virtqueue live. Addresses are byte offsets into the shared
 * region: in vrdma the guest-physical address of a byte is its offset in the region.
 */
export interface QueueAddresses {
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

/** Bytes of the descriptor table: struct vring_desc[size]. */
export function descTableBytes(size: number): number {
  return VRING_DESC_SIZE * size;
}

/** Bytes of the available ring: flags, idx, ring[size], used_event (all le16). */
export function availRingBytes(size: number): number {
  return 2 * (3 + size);
}

/** Bytes of the used ring: flags, idx (le16), ring[size] of {le32 id, le32 len}, avail_event. */
export function usedRingBytes(size: number): number {
  return 2 * 3 + VRING_USED_ELEM_SIZE * size;
}

/** Offsets inside each area, as in the C structs. */
export const AVAIL_FLAGS = 0;
export const AVAIL_IDX = 2;
export const AVAIL_RING = 4;
export const USED_FLAGS = 0;
export const USED_IDX = 2;
export const USED_RING = 4;
export const availUsedEventOffset = (size: number): number => AVAIL_RING + 2 * size;
export const usedAvailEventOffset = (size: number): number =>
  USED_RING + VRING_USED_ELEM_SIZE * size;

/**
 * The legacy single-block size, `vring_size(num, align)` from virtio_ring.h. We do not use the
 * legacy layout (our areas have separate addresses) but it pins our arithmetic to the header's.
 */
export function legacyVringSize(size: number, align: number): number {
  const front = descTableBytes(size) + 2 * (3 + size);
  return alignUp(front, align) + 2 * 3 + VRING_USED_ELEM_SIZE * size;
}

export function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

export function isQueueSize(size: number): boolean {
  return Number.isInteger(size) && size >= 1 && size <= MAX_QUEUE_SIZE && (size & (size - 1)) === 0;
}

/** Packs one queue from `base` onwards with the spec's alignments; returns where it ends too. */
export function planQueue(base: number, size: number): QueueAddresses & { end: number } {
  if (!isQueueSize(size)) {
    throw new VrdmaError('TRANSPORT', `queue size ${size} is not a power of two up to 32768`);
  }
  const desc = alignUp(base, VRING_DESC_ALIGN_SIZE);
  const avail = alignUp(desc + descTableBytes(size), VRING_AVAIL_ALIGN_SIZE);
  const used = alignUp(avail + availRingBytes(size), VRING_USED_ALIGN_SIZE);
  return { size, desc, avail, used, end: used + usedRingBytes(size) };
}

/**
 * Checks addresses a driver chose (hostile input): size, alignment, inside the region, and the
 * three areas disjoint from each other and from `reserved` (the bytes the device owns).
 */
export function checkQueueAddresses(
  queue: QueueAddresses,
  regionSize: number,
  reserved: { start: number; end: number } = { start: 0, end: 0 },
): void {
  if (!isQueueSize(queue.size)) {
    throw new VrdmaError('TRANSPORT', `queue size ${queue.size} is not a power of two up to 32768`);
  }
  const areas = [
    { name: 'descriptor table', at: queue.desc, bytes: descTableBytes(queue.size), align: 16 },
    { name: 'available ring', at: queue.avail, bytes: availRingBytes(queue.size), align: 2 },
    { name: 'used ring', at: queue.used, bytes: usedRingBytes(queue.size), align: 4 },
  ];
  for (const area of areas) {
    if (!Number.isSafeInteger(area.at) || area.at < 0 || area.at + area.bytes > regionSize) {
      throw new VrdmaError(
        'TRANSPORT',
        `${area.name} at ${area.at} (+${area.bytes}) is outside the region of ${regionSize} bytes`,
      );
    }
    if (area.at % area.align !== 0) {
      throw new VrdmaError('TRANSPORT', `${area.name} at ${area.at} is not ${area.align}-aligned`);
    }
    if (overlaps(area.at, area.bytes, reserved.start, reserved.end - reserved.start)) {
      throw new VrdmaError('TRANSPORT', `${area.name} overlaps the device's configuration block`);
    }
  }
  for (let i = 0; i < areas.length; i++) {
    for (let j = i + 1; j < areas.length; j++) {
      const a = areas[i]!;
      const b = areas[j]!;
      if (overlaps(a.at, a.bytes, b.at, b.bytes)) {
        throw new VrdmaError('TRANSPORT', `${a.name} overlaps the ${b.name}`);
      }
    }
  }
}

function overlaps(a: number, aBytes: number, b: number, bBytes: number): boolean {
  return a < b + bBytes && b < a + aBytes;
}

import { VrdmaError } from '@vrdma/api-spec';
import { checkRingShape, initRing, type RingShape, ringBytes } from './ring.js';

/**
 * One guest's data-plane channel: a header, then the request ring (guest → host), then the
 * reply ring (host → guest). The host creates and initialises it; the guest reads the shape
 * from the header. The host never reads the shape back: it keeps the one it chose.
 *
 *   Int32 words of the header (64 bytes):
 *   0 host sleeps   1 guest sleeps   2 host blocked on a full reply ring
 *   3 guest blocked on a full request ring   4 magic   5 slot count   6 slot size
 *   7 completion entries the host has pushed (u32, wrapping; only the host writes it)
 *   8 the count of word 7 at which a sleeping guest wants its ring (only the guest writes it)
 */
export const CHANNEL_HEADER_SIZE = 64;
export const Word = {
  HostSleeps: 0,
  GuestSleeps: 1,
  HostBlocked: 2,
  GuestBlocked: 3,
  Magic: 4,
  SlotCount: 5,
  SlotSize: 6,
  EntriesPushed: 7,
  GuestWakeAt: 8,
} as const;
const MAGIC = 0x7652_4d31; // "vRM1"

export function channelBytes(shape: RingShape): number {
  return CHANNEL_HEADER_SIZE + 2 * ringBytes(shape);
}

export function requestRingOffset(): number {
  return CHANNEL_HEADER_SIZE;
}

export function replyRingOffset(shape: RingShape): number {
  return CHANNEL_HEADER_SIZE + ringBytes(shape);
}

export function channelWords(memory: ArrayBufferLike): Int32Array {
  return new Int32Array(memory, 0, CHANNEL_HEADER_SIZE / 4);
}

/** Writes a fresh channel (both rings empty, starting at `startIndex`). */
export function initChannel(memory: ArrayBufferLike, shape: RingShape, startIndex = 0): void {
  checkRingShape(shape);
  if (memory.byteLength < channelBytes(shape)) {
    throw new VrdmaError('INVALID_ARGUMENT', 'channel memory is smaller than its rings');
  }
  const words = channelWords(memory);
  initRing(memory, requestRingOffset(), startIndex);
  initRing(memory, replyRingOffset(shape), startIndex);
  Atomics.store(words, Word.SlotCount, shape.slotCount);
  Atomics.store(words, Word.SlotSize, shape.slotSize);
  Atomics.store(words, Word.EntriesPushed, 0);
  Atomics.store(words, Word.GuestWakeAt, 0);
  Atomics.store(words, Word.Magic, MAGIC);
}

/** The guest's reading of a channel the host prepared. */
export function readChannelShape(memory: ArrayBufferLike): RingShape {
  const words = channelWords(memory);
  if (Atomics.load(words, Word.Magic) !== MAGIC) {
    throw new VrdmaError('TRANSPORT', 'memory given as a channel does not hold one');
  }
  const shape = {
    slotCount: Atomics.load(words, Word.SlotCount),
    slotSize: Atomics.load(words, Word.SlotSize),
  };
  checkRingShape(shape);
  if (memory.byteLength < channelBytes(shape)) {
    throw new VrdmaError('TRANSPORT', 'channel memory is smaller than its rings');
  }
  return shape;
}

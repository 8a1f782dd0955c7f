import { VrdmaError } from '@vrdma/api-spec';

/**
 * A single-producer/single-consumer ring of fixed-size slots in shared memory.
 *
 *   +0    u32 tail: slots ever published by the producer (free-running, wraps at 2^32)
 *   +64   u32 head: slots ever consumed by the consumer (same)
 *   +128  slotCount slots of slotSize bytes: u32 length, then the frame
 *
 * Head and tail live on separate cache lines. Each side keeps its own index privately and
 * only *reads* the other one from shared memory, so a peer that corrupts the ring can make the
 * reader see an impossible distance (more than slotCount apart, or a length that does not fit
 * a slot), which is reported as a broken ring (TRANSPORT), never acted upon.
 */
export const RING_HEADER_SIZE = 128;
const TAIL = 0;
const HEAD = 16; // Int32 index of byte 64
const LENGTH_SIZE = 4;

export interface RingShape {
  /** A power of two. */
  readonly slotCount: number;
  /** Bytes per slot, a multiple of 8, including the 4-byte length. */
  readonly slotSize: number;
}

export const DEFAULT_RING_SHAPE: RingShape = { slotCount: 256, slotSize: 256 };

export function ringBytes(shape: RingShape): number {
  return RING_HEADER_SIZE + shape.slotCount * shape.slotSize;
}

export function maxFrameSize(shape: RingShape): number {
  return shape.slotSize - LENGTH_SIZE;
}

export function checkRingShape(shape: RingShape): void {
  const { slotCount, slotSize } = shape;
  if (!Number.isInteger(slotCount) || slotCount < 2 || slotCount > 1 << 16) {
    throw new VrdmaError('INVALID_ARGUMENT', `slotCount ${slotCount} must be 2 … 65536`);
  }
  if ((slotCount & (slotCount - 1)) !== 0) {
    throw new VrdmaError('INVALID_ARGUMENT', `slotCount ${slotCount} is not a power of two`);
  }
  if (!Number.isInteger(slotSize) || slotSize < 32 || slotSize > 1 << 16 || slotSize % 8 !== 0) {
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `slotSize ${slotSize} must be a multiple of 8, 32 … 65536`,
    );
  }
}

/** Sets both indices of a fresh ring to `start` (tests use a start near 2^32 to cross the wrap). */
export function initRing(memory: ArrayBufferLike, byteOffset: number, start = 0): void {
  const words = new Int32Array(memory, byteOffset, RING_HEADER_SIZE / 4);
  Atomics.store(words, TAIL, start | 0);
  Atomics.store(words, HEAD, start | 0);
}

function broken(message: string): VrdmaError {
  return new VrdmaError('TRANSPORT', `ring broken: ${message}`);
}

abstract class RingSide {
  protected readonly words: Int32Array;
  protected readonly slots: Uint8Array;
  protected readonly view: DataView;
  protected readonly mask: number;
  readonly maxFrame: number;

  constructor(
    memory: ArrayBufferLike,
    byteOffset: number,
    readonly shape: RingShape,
  ) {
    checkRingShape(shape);
    this.words = new Int32Array(memory, byteOffset, RING_HEADER_SIZE / 4);
    this.slots = new Uint8Array(
      memory,
      byteOffset + RING_HEADER_SIZE,
      shape.slotCount * shape.slotSize,
    );
    this.view = new DataView(memory, byteOffset + RING_HEADER_SIZE, this.slots.byteLength);
    this.mask = shape.slotCount - 1;
    this.maxFrame = maxFrameSize(shape);
  }

  protected slotAt(index: number): number {
    return (index & this.mask) * this.shape.slotSize;
  }
}

export class RingProducer extends RingSide {
  private tail: number;

  constructor(memory: ArrayBufferLike, byteOffset: number, shape: RingShape) {
    super(memory, byteOffset, shape);
    this.tail = Atomics.load(this.words, TAIL) >>> 0;
  }

  /** Slots in use as seen now; TRANSPORT if the consumer's index is impossible. */
  inUse(): number {
    const head = Atomics.load(this.words, HEAD) >>> 0;
    const used = (this.tail - head) >>> 0;
    if (used > this.shape.slotCount) {
      throw broken(`consumer index ${head} is ${used} slots behind producer index ${this.tail}`);
    }
    return used;
  }

  hasSpace(): boolean {
    return this.inUse() < this.shape.slotCount;
  }

  /** Publishes one frame; false when the ring is full (the caller keeps it and retries). */
  tryPush(frame: Uint8Array): boolean {
    if (frame.length > this.maxFrame) {
      throw new VrdmaError(
        'TRANSPORT',
        `frame of ${frame.length} bytes exceeds the ring slot (${this.maxFrame} bytes)`,
      );
    }
    if (this.inUse() >= this.shape.slotCount) return false;
    const at = this.slotAt(this.tail);
    this.view.setUint32(at, frame.length, true);
    this.slots.set(frame, at + LENGTH_SIZE);
    this.tail = (this.tail + 1) >>> 0;
    Atomics.store(this.words, TAIL, this.tail | 0);
    return true;
  }
}

export class RingConsumer extends RingSide {
  private head: number;

  constructor(memory: ArrayBufferLike, byteOffset: number, shape: RingShape) {
    super(memory, byteOffset, shape);
    this.head = Atomics.load(this.words, HEAD) >>> 0;
  }

  /** Frames waiting; TRANSPORT if the producer's index is impossible. */
  available(): number {
    const tail = Atomics.load(this.words, TAIL) >>> 0;
    const ready = (tail - this.head) >>> 0;
    if (ready > this.shape.slotCount) {
      throw broken(`producer index ${tail} is ${ready} slots ahead of consumer index ${this.head}`);
    }
    return ready;
  }

  /**
   * Takes the next frame as a private copy (the producer may reuse the slot at once, and a
   * hostile producer cannot change bytes after they were checked); undefined when empty.
   */
  tryPop(): Uint8Array | undefined {
    if (this.available() === 0) return undefined;
    const at = this.slotAt(this.head);
    const length = this.view.getUint32(at, true);
    if (length > this.maxFrame) {
      throw broken(
        `slot ${this.head} claims a frame of ${length} bytes (at most ${this.maxFrame})`,
      );
    }
    const frame = this.slots.slice(at + LENGTH_SIZE, at + LENGTH_SIZE + length);
    this.head = (this.head + 1) >>> 0;
    Atomics.store(this.words, HEAD, this.head | 0);
    return frame;
  }
}

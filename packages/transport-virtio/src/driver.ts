import { type Region, VrdmaError } from '@vrdma/api-spec';
import type { Segment } from './chain.js';
import {
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_DESC_SIZE,
  VRING_USED_ELEM_SIZE,
  VRING_USED_F_NO_NOTIFY,
} from './constants.js';
import { type Features, hasFeature } from './features.js';
import {
  AVAIL_FLAGS,
  AVAIL_IDX,
  AVAIL_RING,
  availRingBytes,
  availUsedEventOffset,
  checkQueueAddresses,
  descTableBytes,
  type QueueAddresses,
  USED_FLAGS,
  USED_IDX,
  USED_RING,
  usedAvailEventOffset,
  usedRingBytes,
} from './layout.js';
import { vringNeedEvent } from './need-event.js';
import { RingMemory } from './ring-memory.js';

/** What a driver puts in one chain: device-readable buffers first, then device-writable ones. */
export interface ChainRequest {
  readonly readable: readonly Segment[];
  readonly writable: readonly Segment[];
  /**
   * Where to write an indirect table for this chain (16 bytes per segment, in the region).
   * Used only when VIRTIO_F_INDIRECT_DESC was negotiated; the chain then takes one slot.
   */
  readonly indirectTable?: number;
}

/** A chain the device returned: its head and the bytes it wrote. */
export interface UsedBuffer {
  readonly head: number;
  readonly len: number;
}

const NONE = 0xffff;

/**
 * The driver (guest) side of one split virtqueue: adds chains, decides whether a kick is
 * needed, and reaps used buffers. The free descriptor list lives in this object, not in shared
 * memory, so a faulty device cannot corrupt it; what the device writes is checked on reaping.
 */
export class VirtqueueDriver {
  readonly memory: RingMemory;
  readonly eventIdx: boolean;
  readonly indirect: boolean;
  private readonly nextFree: Uint16Array;
  private readonly chainLength: Uint16Array;
  private freeHead = 0;
  private freeCount: number;
  private availIdx: number;
  private lastKickedAvail: number;
  private lastUsed: number;
  private interruptsEnabled = true;
  /**
   * Called between publishing an index and reading the device's event index or used idx, when
   * the memory is not directly shared (see MemoryPort): it must push our store out and pull the
   * device's latest writes in, or a kick or an interrupt could be missed.
   */
  fence: (() => void) | undefined;

  constructor(
    region: Region,
    readonly queue: QueueAddresses,
    readonly features: Features,
  ) {
    checkQueueAddresses(queue, region.size);
    this.memory = new RingMemory(region);
    this.eventIdx = hasFeature(features, VIRTIO_RING_F_EVENT_IDX);
    this.indirect = hasFeature(features, VIRTIO_RING_F_INDIRECT_DESC);
    const { size } = queue;
    this.memory.bytes.fill(0, queue.desc, queue.desc + descTableBytes(size));
    this.memory.bytes.fill(0, queue.avail, queue.avail + availRingBytes(size));
    this.memory.bytes.fill(0, queue.used, queue.used + usedRingBytes(size));
    this.nextFree = new Uint16Array(size);
    for (let i = 0; i < size; i++) this.nextFree[i] = i + 1 < size ? i + 1 : NONE;
    this.chainLength = new Uint16Array(size);
    this.freeCount = size;
    this.availIdx = 0;
    this.lastKickedAvail = 0;
    this.lastUsed = 0;
  }

  /** Descriptors free for new chains. */
  get free(): number {
    return this.freeCount;
  }

  /** Chains added and not yet returned by the device. */
  get inFlight(): number {
    let n = 0;
    for (const length of this.chainLength) if (length > 0) n++;
    return n;
  }

  /** Descriptors a chain needs: one with an indirect table, else one per segment. */
  descriptorsFor(request: ChainRequest): number {
    const segments = request.readable.length + request.writable.length;
    return this.indirect && request.indirectTable !== undefined && segments > 1 ? 1 : segments;
  }

  /**
   * Writes a chain and its avail ring entry; the device sees it only after `publish()`.
   * Returns the head descriptor, the id the device will return in the used ring.
   */
  add(request: ChainRequest): number {
    const segments = [
      ...request.readable.map((s) => ({ ...s, flags: 0 })),
      ...request.writable.map((s) => ({ ...s, flags: VRING_DESC_F_WRITE })),
    ];
    if (segments.length === 0) throw new VrdmaError('TRANSPORT', 'a chain needs a buffer');
    const needed = this.descriptorsFor(request);
    if (needed > this.freeCount) {
      throw new VrdmaError(
        'TRANSPORT',
        `chain needs ${needed} descriptors, ${this.freeCount} free`,
      );
    }
    const { memory, queue } = this;
    const head = this.freeHead;
    if (needed === 1 && segments.length > 1) {
      const table = request.indirectTable!;
      segments.forEach((segment, i) => {
        const last = i === segments.length - 1;
        writeDesc(
          memory,
          table + VRING_DESC_SIZE * i,
          segment.addr,
          segment.len,
          segment.flags | (last ? 0 : VRING_DESC_F_NEXT),
          last ? 0 : i + 1,
        );
      });
      writeDesc(
        memory,
        this.descAt(head),
        table,
        VRING_DESC_SIZE * segments.length,
        VRING_DESC_F_INDIRECT,
        0,
      );
      this.freeHead = this.nextFree[head]!;
    } else {
      let index = head;
      segments.forEach((segment, i) => {
        const last = i === segments.length - 1;
        const next = this.nextFree[index]!;
        writeDesc(
          memory,
          this.descAt(index),
          segment.addr,
          segment.len,
          segment.flags | (last ? 0 : VRING_DESC_F_NEXT),
          last ? 0 : next,
        );
        if (!last) index = next;
      });
      this.freeHead = this.nextFree[index]!;
    }
    this.freeCount -= needed;
    this.chainLength[head] = needed;
    memory.setU16(queue.avail + AVAIL_RING + 2 * (this.availIdx & (queue.size - 1)), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    return head;
  }

  /**
   * Makes the chains added so far visible to the device (one store of avail idx) and says
   * whether it must be kicked: `vring_need_event` on avail_event with EVENT_IDX, the used
   * ring's NO_NOTIFY flag without it.
   */
  publish(): boolean {
    const { memory, queue } = this;
    memory.store16(queue.avail + AVAIL_IDX, this.availIdx);
    this.fence?.();
    const old = this.lastKickedAvail;
    this.lastKickedAvail = this.availIdx;
    if (old === this.availIdx) return false;
    if (this.eventIdx) {
      const availEvent = memory.load16(queue.used + usedAvailEventOffset(queue.size));
      return vringNeedEvent(availEvent, this.availIdx, old);
    }
    return (memory.load16(queue.used + USED_FLAGS) & VRING_USED_F_NO_NOTIFY) === 0;
  }

  /** Collects the chains the device returned and frees their descriptors. */
  reap(): UsedBuffer[] {
    const { memory, queue } = this;
    const used: UsedBuffer[] = [];
    const usedIdx = memory.load16(queue.used + USED_IDX);
    const ahead = (usedIdx - this.lastUsed) & 0xffff;
    if (ahead > queue.size) {
      throw new VrdmaError(
        'TRANSPORT',
        `used idx ${usedIdx} is ${ahead} ahead of ${this.lastUsed}`,
      );
    }
    for (let i = 0; i < ahead; i++) {
      const elem =
        queue.used + USED_RING + VRING_USED_ELEM_SIZE * (this.lastUsed & (queue.size - 1));
      const head = memory.u32(elem);
      const len = memory.u32(elem + 4);
      if (head >= queue.size || this.chainLength[head] === 0) {
        throw new VrdmaError(
          'TRANSPORT',
          `the device returned head ${head}, which is not in flight`,
        );
      }
      this.freeChain(head);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
      used.push({ head, len });
    }
    // Keep asking for an interrupt on the next used buffer (as Linux does after each get_buf).
    if (this.eventIdx && this.interruptsEnabled) {
      memory.store16(queue.avail + availUsedEventOffset(queue.size), this.lastUsed);
    }
    return used;
  }

  /** Whether the device returned chains that `reap` has not collected yet. */
  hasUsed(): boolean {
    return this.memory.load16(this.queue.used + USED_IDX) !== this.lastUsed;
  }

  /**
   * Stops interrupts (a hint to the device); reaping by polling still works. With EVENT_IDX,
   * used_event goes one behind the next used index: the device interrupts only when its used
   * idx crosses used_event, which it already has (Linux writes 0, which can be just ahead).
   */
  disableInterrupts(): void {
    const { memory, queue } = this;
    this.interruptsEnabled = false;
    if (this.eventIdx) {
      memory.store16(queue.avail + availUsedEventOffset(queue.size), (this.lastUsed - 1) & 0xffff);
    } else memory.store16(queue.avail + AVAIL_FLAGS, VRING_AVAIL_F_NO_INTERRUPT);
  }

  /** Asks for interrupts again; true when used buffers are already waiting (reap them). */
  enableInterrupts(): boolean {
    const { memory, queue } = this;
    this.interruptsEnabled = true;
    if (this.eventIdx)
      memory.store16(queue.avail + availUsedEventOffset(queue.size), this.lastUsed);
    else memory.store16(queue.avail + AVAIL_FLAGS, 0);
    this.fence?.();
    return memory.load16(queue.used + USED_IDX) !== this.lastUsed;
  }

  private descAt(index: number): number {
    return this.queue.desc + VRING_DESC_SIZE * index;
  }

  /**
   * The chain's descriptors are found through our own free-list links (taken in that order
   * when the chain was added, untouched while it is in flight), never through the `next`
   * fields in shared memory, which the device could have rewritten.
   */
  private freeChain(head: number): void {
    const length = this.chainLength[head]!;
    let last = head;
    for (let i = 1; i < length; i++) last = this.nextFree[last]!;
    this.nextFree[last] = this.freeHead;
    this.freeHead = head;
    this.freeCount += length;
    this.chainLength[head] = 0;
  }
}

function writeDesc(
  memory: RingMemory,
  at: number,
  addr: number,
  len: number,
  flags: number,
  next: number,
): void {
  memory.setU64(at, addr);
  memory.setU32(at + 8, len);
  memory.setU16(at + 12, flags);
  memory.setU16(at + 14, next);
}

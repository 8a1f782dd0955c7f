import type { Region, VrdmaError } from '@vrdma/api-spec';
import type { DescriptorChain, Segment } from './chain.js';
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
  availUsedEventOffset,
  checkQueueAddresses,
  type QueueAddresses,
  USED_FLAGS,
  USED_IDX,
  USED_RING,
  usedAvailEventOffset,
} from './layout.js';
import { vringNeedEvent } from './need-event.js';
import { type QueueFault, queueFaultError } from './queue-fault.js';
import { RingMemory } from './ring-memory.js';

const MAX_U32 = 0xffff_ffff;
const TWO_TO_64 = 1n << 64n;

export interface DeviceOptions {
  /** Bytes of the region the ring must not overlap (the configuration block). */
  readonly reserved?: { start: number; end: number };
  /** Where both indices start (0 after a reset; other values let tests cross the wrap). */
  readonly startIndex?: number;
}

/**
 * The device (host) side of one split virtqueue. Everything it reads from the ring is written
 * by the driver and treated as hostile: the first inconsistency marks the queue broken, and
 * from then on every operation throws the same typed error. It never reads or writes outside
 * the region it was given, and it keeps its own copies of the indices it depends on.
 */
export class VirtqueueDevice {
  readonly memory: RingMemory;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;
  private lastAvail = 0;
  private usedIdx = 0;
  private signalledUsed = 0;
  /**
   * Heads popped and not yet returned. A driver may make a head available only once the device
   * has returned it; holding it to that keeps what a guest can have the host serve at once to
   * the queue size, however fast it refills the avail ring.
   */
  private readonly inUse: Uint8Array;
  private inUseCount = 0;
  private brokenBy: { fault: QueueFault; error: VrdmaError } | undefined;

  constructor(
    region: Region,
    readonly queue: QueueAddresses,
    readonly features: Features,
    options: DeviceOptions = {},
  ) {
    checkQueueAddresses(queue, region.size, options.reserved);
    this.memory = new RingMemory(region);
    this.eventIdx = hasFeature(features, VIRTIO_RING_F_EVENT_IDX);
    this.indirect = hasFeature(features, VIRTIO_RING_F_INDIRECT_DESC);
    // A queue starts at index 0 after reset (§2.7.6); never take the indices from the ring.
    this.lastAvail = (options.startIndex ?? 0) & 0xffff;
    this.usedIdx = this.lastAvail;
    this.signalledUsed = this.usedIdx;
    this.inUse = new Uint8Array(queue.size);
  }

  /** Chains popped and not yet returned with pushUsed: at most the queue size. */
  get outstanding(): number {
    return this.inUseCount;
  }

  /** Why the queue is broken, or undefined while it works. */
  get fault(): { fault: QueueFault; error: VrdmaError } | undefined {
    return this.brokenBy;
  }

  /** Chains the driver made available that this side has not popped yet (0 when broken). */
  pending(): number {
    if (this.brokenBy) return 0;
    return (this.memory.load16(this.queue.avail + AVAIL_IDX) - this.lastAvail) & 0xffff;
  }

  /** The next available chain, validated; null when there is none. Throws when broken. */
  pop(): DescriptorChain | null {
    this.throwIfBroken();
    const { memory, queue } = this;
    const availIdx = memory.load16(queue.avail + AVAIL_IDX);
    const ahead = (availIdx - this.lastAvail) & 0xffff;
    if (ahead === 0) return null;
    if (ahead > queue.size) {
      this.breakWith(
        'avail-idx-out-of-range',
        `avail idx ${availIdx} is ${ahead} ahead of ${this.lastAvail} (queue of ${queue.size})`,
      );
    }
    const head = memory.u16(queue.avail + AVAIL_RING + 2 * (this.lastAvail & (queue.size - 1)));
    if (head >= queue.size) {
      this.breakWith('head-out-of-range', `head ${head} in a queue of ${queue.size}`);
    }
    if (this.inUse[head]) {
      this.breakWith('head-in-use', `head ${head} made available again before it was returned`);
    }
    const chain = this.walk(head);
    this.inUse[head] = 1;
    this.inUseCount++;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return chain;
  }

  /** Returns a chain to the driver with the number of bytes written into it. */
  pushUsed(chain: DescriptorChain, written: number): void {
    this.throwIfBroken();
    const { memory, queue } = this;
    if (!this.inUse[chain.head]) {
      throw new RangeError(`chain ${chain.head} was not popped, or was returned already`);
    }
    this.inUse[chain.head] = 0;
    this.inUseCount--;
    const len = Math.max(0, Math.min(written, chain.writableBytes));
    const elem = queue.used + USED_RING + VRING_USED_ELEM_SIZE * (this.usedIdx & (queue.size - 1));
    memory.setU32(elem, chain.head);
    memory.setU32(elem + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    memory.store16(queue.used + USED_IDX, this.usedIdx);
  }

  /**
   * Whether the driver wants an interrupt for the used buffers pushed since the last call:
   * `vring_need_event` on used_event with EVENT_IDX, the NO_INTERRUPT flag without it.
   */
  needsInterrupt(): boolean {
    if (this.brokenBy) return false;
    const { memory, queue } = this;
    const old = this.signalledUsed;
    this.signalledUsed = this.usedIdx;
    if (old === this.usedIdx) return false;
    if (this.eventIdx) {
      const usedEvent = memory.load16(queue.avail + availUsedEventOffset(queue.size));
      return vringNeedEvent(usedEvent, this.usedIdx, old);
    }
    return (memory.load16(queue.avail + AVAIL_FLAGS) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** Asks the driver not to kick while this side is draining the queue anyway. */
  disableKicks(): void {
    if (this.brokenBy || this.eventIdx) return; // with EVENT_IDX, a stale avail_event suffices
    this.memory.store16(this.queue.used + USED_FLAGS, VRING_USED_F_NO_NOTIFY);
  }

  /**
   * Asks for a kick on the next available chain, then looks again: returns true when chains
   * arrived in between (the driver may have decided not to kick), so the caller drains again.
   */
  enableKicks(): boolean {
    if (this.brokenBy) return false;
    const { memory, queue } = this;
    if (this.eventIdx)
      memory.store16(queue.used + usedAvailEventOffset(queue.size), this.lastAvail);
    else memory.store16(queue.used + USED_FLAGS, 0);
    return memory.load16(queue.avail + AVAIL_IDX) !== this.lastAvail;
  }

  /** Marks the queue broken from outside (e.g. the transport found a bad configuration). */
  breakWith(fault: QueueFault, detail: string): never {
    if (!this.brokenBy) this.brokenBy = { fault, error: queueFaultError(fault, detail) };
    throw this.brokenBy.error;
  }

  private throwIfBroken(): void {
    if (this.brokenBy) throw this.brokenBy.error;
  }

  /** Follows a chain from `head`, checking every descriptor before using it. */
  private walk(head: number): DescriptorChain {
    const { memory, queue } = this;
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let readableBytes = 0;
    let writableBytes = 0;
    let table = queue.desc;
    let tableSize = queue.size;
    let inIndirect = false;
    let index = head;
    let count = 0;
    for (;;) {
      const at = table + VRING_DESC_SIZE * index;
      const addr = memory.u64(at);
      const len = memory.u32(at + 8);
      const flags = memory.u16(at + 12);
      const next = memory.u16(at + 14);
      if (flags & VRING_DESC_F_INDIRECT) {
        if (inIndirect)
          this.breakWith('indirect-nested', `descriptor ${index} of an indirect table`);
        if (!this.indirect) {
          this.breakWith('indirect-not-negotiated', `descriptor ${index} without the feature`);
        }
        if (flags & VRING_DESC_F_NEXT) {
          this.breakWith('indirect-with-next', `descriptor ${index} has INDIRECT and NEXT`);
        }
        if (len === 0 || len % VRING_DESC_SIZE !== 0 || len / VRING_DESC_SIZE > queue.size) {
          this.breakWith('indirect-bad-length', `indirect table of ${len} bytes`);
        }
        this.checkBuffer(at, addr, len);
        inIndirect = true;
        table = addr;
        tableSize = len / VRING_DESC_SIZE;
        index = 0;
        continue;
      }
      if (++count > queue.size) {
        this.breakWith('chain-too-long', `chain from head ${head} is longer than ${queue.size}`);
      }
      this.checkBuffer(at, addr, len);
      if (flags & VRING_DESC_F_WRITE) {
        writable.push({ addr, len });
        writableBytes += len;
      } else {
        if (writable.length > 0) {
          this.breakWith('readable-after-writable', `chain from head ${head}`);
        }
        readable.push({ addr, len });
        readableBytes += len;
      }
      if (readableBytes > MAX_U32 || writableBytes > MAX_U32) {
        this.breakWith('length-overflow', `chain from head ${head} exceeds 2^32-1 bytes`);
      }
      if ((flags & VRING_DESC_F_NEXT) === 0) break;
      if (next >= tableSize) {
        this.breakWith('next-out-of-range', `next ${next} in a table of ${tableSize}`);
      }
      index = next;
    }
    return { head, readable, writable, readableBytes, writableBytes };
  }

  /** A buffer must lie entirely inside the region; an address + length past 2^64 wraps. */
  private checkBuffer(descAt: number, addr: number, len: number): void {
    if (addr >= 0 && addr + len <= this.memory.size) return;
    if (addr < 0) {
      const low = BigInt(this.memory.u32(descAt));
      const high = BigInt(this.memory.u32(descAt + 4));
      if ((high << 32n) + low + BigInt(len) >= TWO_TO_64) {
        this.breakWith('length-overflow', `address + length of ${len} wraps past 2^64`);
      }
    }
    this.breakWith(
      'buffer-outside-region',
      `buffer [${addr < 0 ? 'beyond 2^53' : addr}, +${len}) outside the region of ${this.memory.size} bytes`,
    );
  }
}

import {
  type CallInfo,
  type ClientTransport,
  type Region,
  type TransportMetrics,
  VrdmaError,
} from '@vrdma/api-spec';
import { ContentionGuard } from '@vrdma/memory';
import { BusyPoller, type PollSide, type PollState } from './busy-poller.js';
import {
  CONFIG,
  CONFIG_BLOCK_BYTES,
  CONFIG_MAGIC,
  CONFIG_VERSION,
  readFeatures,
  writeFeatures,
  writeQueueAddresses,
} from './config-block.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VRING_DESC_SIZE,
} from './constants.js';
import { VirtqueueDriver } from './driver.js';
import { DEVICE_FEATURES, type Features, negotiateFeatures } from './features.js';
import { alignUp, planQueue } from './layout.js';
import type { MemoryPort } from './memory-port.js';
import type { NotificationSource, Notifier } from './notifier.js';
import { DEFAULT_POLL_BUDGET_US, PollBudget } from './poll-budget.js';
import { faultOfCode, queueFaultError } from './queue-fault.js';
import { RingMemory } from './ring-memory.js';

export interface VirtioClientOptions {
  /** The region the host offered, with its configuration block at offset 0. */
  readonly region: Region;
  /** Kicks to the device. */
  readonly kicks: Notifier;
  /** Interrupts from the device. */
  readonly interrupts: NotificationSource;
  /** Features to accept if offered (default: all this implementation knows). */
  readonly features?: Features;
  /** Queue size, a power of two (default: 64, or the device's maximum if lower). */
  readonly queueSize?: number;
  /** Calls in flight at once (default 32, at most what the queue holds). */
  readonly maxInFlight?: number;
  /** Largest request frame (default 4096 bytes). */
  readonly requestBytes?: number;
  /** Largest reply frame (default 4096 bytes). */
  readonly responseBytes?: number;
  /** Put each call in an indirect table when negotiated (default true): 1 descriptor per call. */
  readonly indirect?: boolean;
  /** Only for memory this process cannot map (see openFileMirror); absent for shared memory. */
  readonly port?: MemoryPort;
  /**
   * Longest the driver polls the used ring, with interrupts off, while calls are in flight
   * and no reply came (µs, default 200); the window in use adapts below it (see PollBudget).
   * 0 turns polling off: every reply costs an interrupt. Always 0 with a port.
   */
  readonly pollBudgetUs?: number;
  /**
   * Poll on although this thread waits for a CPU meanwhile (cores set aside for vrdma). By
   * default a side that finds the cores oversubscribed stops polling for a while: spinning
   * then takes the CPU its peer needs to answer (see ContentionGuard).
   */
  readonly pollWhenContended?: boolean;
}

export interface VirtioClientTransport extends ClientTransport {
  /** Features both sides agreed on. */
  readonly negotiated: Features;
  /** Calls that can be in flight at once (one chain each). */
  readonly maxInFlight: number;
  /** The driver's poll loop: whether it polls now, its counters and its window. */
  readonly poll: PollState;
}

interface PendingCall {
  readonly request: Uint8Array;
  readonly callId: number;
  readonly resolve: (reply: Uint8Array) => void;
  readonly reject: (error: VrdmaError) => void;
  settled: boolean;
  /** Stops listening to the caller's AbortSignal once the call is settled. */
  detach?: () => void;
}

interface Slot {
  readonly request: number;
  readonly response: number;
  readonly table: number;
}

/**
 * The guest side of the control plane: the virtio driver. It attaches to the device through
 * the configuration block, lays its queue and call buffers out after it, and sends each call as
 * one chain. Calls issued in the same tick share one publish and at most one kick.
 */
export function createVirtioClientTransport(options: VirtioClientOptions): VirtioClientTransport {
  return new VirtioClient(options);
}

class VirtioClient implements VirtioClientTransport {
  private readonly counters = { messages: 0, doorbells: 0 };
  readonly metrics: TransportMetrics = this.counters;
  readonly negotiated: Features;
  readonly maxInFlight: number;
  private readonly memory: RingMemory;
  private readonly driver: VirtqueueDriver;
  private readonly kicks: Notifier;
  private readonly requestBytes: number;
  private readonly responseBytes: number;
  private readonly useIndirect: boolean;
  private readonly freeSlots: Slot[] = [];
  private readonly inFlight = new Map<number, { call: PendingCall; slot: Slot }>();
  private readonly waiting: PendingCall[] = [];
  private readonly listeners: Array<(reason: VrdmaError) => void> = [];
  private readonly unsubscribe: () => void;
  private flushScheduled = false;
  private readonly poller: BusyPoller;
  private failure: VrdmaError | undefined;
  private readonly port: MemoryPort | undefined;
  private readonly writes: Array<readonly [number, number]> = [];
  private readonly recordWrite = (at: number, length: number): void => {
    this.writes.push([at, length]);
  };

  constructor(options: VirtioClientOptions) {
    const memory = new RingMemory(options.region);
    this.memory = memory;
    this.port = options.port;
    if (this.port) memory.onWrite = this.recordWrite;
    this.kicks = options.kicks;
    this.requestBytes = options.requestBytes ?? 4096;
    this.responseBytes = options.responseBytes ?? 4096;
    if (memory.size < CONFIG_BLOCK_BYTES || memory.u32(CONFIG.magic) !== CONFIG_MAGIC) {
      throw new VrdmaError('TRANSPORT', 'no virtio device in this region (bad magic)');
    }
    if (memory.u32(CONFIG.version) !== CONFIG_VERSION) {
      throw new VrdmaError('TRANSPORT', `unknown config layout ${memory.u32(CONFIG.version)}`);
    }
    // §3.1.1: reset, ACKNOWLEDGE, DRIVER, negotiate, FEATURES_OK, set up the queue, DRIVER_OK.
    memory.store32(CONFIG.status, 0);
    memory.or32(CONFIG.status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    const offered = readFeatures(memory, CONFIG.deviceFeatures);
    this.negotiated = negotiateFeatures(offered, options.features ?? DEVICE_FEATURES);
    writeFeatures(memory, CONFIG.driverFeatures, this.negotiated);
    memory.or32(CONFIG.status, VIRTIO_CONFIG_S_FEATURES_OK);

    const queueSize = Math.min(options.queueSize ?? 64, memory.u32(CONFIG.queueSizeMax));
    const queue = planQueue(CONFIG_BLOCK_BYTES, queueSize);
    this.driver = new VirtqueueDriver(options.region, queue, this.negotiated);
    if (this.port) {
      this.driver.memory.onWrite = this.recordWrite;
      this.driver.fence = () => this.sync();
      this.writes.push([queue.desc, queue.end - queue.desc]); // the zeroed rings
    }
    this.useIndirect = (options.indirect ?? true) && this.driver.indirect;
    const chainsInQueue = this.useIndirect ? queueSize : Math.max(1, queueSize >> 1);
    this.maxInFlight = Math.max(1, Math.min(options.maxInFlight ?? 32, chainsInQueue));
    this.layOutSlots(queue.end);
    writeQueueAddresses(memory, queue);
    memory.or32(CONFIG.status, VIRTIO_CONFIG_S_DRIVER_OK);

    const ceilingUs = this.port ? 0 : (options.pollBudgetUs ?? DEFAULT_POLL_BUDGET_US);
    this.poller = new BusyPoller(
      this.pollSide(),
      new PollBudget(ceilingUs),
      options.pollWhenContended ? null : new ContentionGuard(),
    );
    this.unsubscribe = options.interrupts.subscribe(
      () => this.onInterrupt(),
      () => this.fail(new VrdmaError('DISCONNECTED', "the host's doorbell closed")),
      // While the poll loop runs, it owns the ring: the doorbell may sleep.
      () => !this.poller.polling && (this.driver.hasUsed() || this.deviceNeedsReset()),
    );
    this.kick();
  }

  get poll(): PollState {
    return this.poller.state;
  }

  call(request: Uint8Array, info: CallInfo): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (request.length > this.requestBytes) {
      return Promise.reject(
        new VrdmaError(
          'TRANSPORT',
          `request of ${request.length} bytes exceeds the ${this.requestBytes}-byte request buffer`,
        ),
      );
    }
    if (info.signal?.aborted) return Promise.reject(new VrdmaError('ABORTED', 'call aborted'));
    return new Promise<Uint8Array>((resolve, reject) => {
      const call: PendingCall = {
        request,
        callId: info.callId,
        resolve,
        reject,
        settled: false,
      };
      const { signal } = info;
      if (signal) {
        const onAbort = () => this.settle(call, new VrdmaError('ABORTED', 'call aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        call.detach = () => signal.removeEventListener('abort', onAbort);
      }
      const slot = this.freeSlots.pop();
      if (slot) this.issue(call, slot);
      else this.waiting.push(call);
    });
  }

  onDisconnect(listener: (reason: VrdmaError) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.failure) return;
    this.failure = new VrdmaError('DISCONNECTED', 'the transport was closed');
    this.unsubscribe();
    this.poller.stop();
    this.memory.store32(CONFIG.status, 0); // a reset: the device lets go of this guest
    this.kick();
    this.rejectAll(this.failure);
  }

  /** Each call owns a request buffer, a reply buffer and room for a 2-entry indirect table. */
  private layOutSlots(start: number): void {
    const tableBytes = 2 * VRING_DESC_SIZE;
    const slotBytes = alignUp(this.requestBytes, 16) + alignUp(this.responseBytes, 16) + tableBytes;
    const base = alignUp(start, 16);
    const end = base + slotBytes * this.maxInFlight;
    if (end > this.memory.size) {
      throw new VrdmaError(
        'TRANSPORT',
        `region of ${this.memory.size} bytes is too small: the queue and ${this.maxInFlight} call buffers need ${end}`,
      );
    }
    for (let i = this.maxInFlight - 1; i >= 0; i--) {
      const request = base + slotBytes * i;
      const response = request + alignUp(this.requestBytes, 16);
      this.freeSlots.push({ request, response, table: response + alignUp(this.responseBytes, 16) });
    }
  }

  private issue(call: PendingCall, slot: Slot): void {
    if (call.settled) {
      this.releaseSlot(slot);
      return;
    }
    this.memory.bytes.set(call.request, slot.request);
    if (this.port) this.writes.push([slot.request, call.request.length]);
    const head = this.driver.add({
      readable: [{ addr: slot.request, len: call.request.length }],
      writable: [{ addr: slot.response, len: this.responseBytes }],
      ...(this.useIndirect ? { indirectTable: slot.table } : {}),
    });
    this.inFlight.set(head, { call, slot });
    this.counters.messages++;
    this.scheduleFlush();
  }

  /** Calls added in the same tick are published together and cost at most one kick. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (this.failure) return;
      // Interrupts off before the device can answer: the poll loop will look for the replies.
      if (this.poller.enabled && !this.poller.polling) this.driver.disableInterrupts();
      if (this.driver.publish()) this.kick();
      this.poller.expectAnswer();
    });
  }

  private kick(): void {
    this.sync();
    if (this.kicks.notify()) this.counters.doorbells++;
  }

  private onInterrupt(): void {
    if (this.failure) return;
    this.sync();
    if (!this.failedByDevice()) this.poller.doorbell();
  }

  private deviceNeedsReset(): boolean {
    return (this.memory.load32(CONFIG.status) & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0;
  }

  /** The device marked the queue broken (or went away): fails this side with its reason. */
  private failedByDevice(): boolean {
    if (!this.deviceNeedsReset()) return false;
    const fault = faultOfCode(this.memory.load32(CONFIG.fault)) ?? 'bad-configuration';
    this.fail(
      fault === 'device-gone'
        ? new VrdmaError('DISCONNECTED', 'the host closed the device')
        : queueFaultError(fault, 'the device marked the queue broken'),
    );
    return true;
  }

  /** The driver's part in the poll loop: what it looks at, reaps, and how it mutes interrupts. */
  private pollSide(): PollSide {
    return {
      wanted: () => !this.failure && this.inFlight.size > 0,
      ready: () => this.driver.hasUsed() || this.deviceNeedsReset(),
      take: () => this.reapReplies(),
      // Interrupts off while the loop looks anyway: NO_INTERRUPT, or with EVENT_IDX a
      // used_event already passed.
      quiet: () => this.driver.disableInterrupts(),
      rearm: () => !this.failure && this.driver.enableInterrupts(),
      failed: (error) => this.fail(VrdmaError.from(error, 'TRANSPORT')),
    };
  }

  /** Settles every call the device returned; throws when the used ring is hostile. */
  private reapReplies(): number {
    if (this.failure) return 0;
    this.sync();
    if (this.failedByDevice()) return 0;
    // Take every finished call out first: completing one may reuse a freed head at once.
    const finished = this.driver.reap().map(({ head, len }) => {
      const entry = this.inFlight.get(head)!;
      this.inFlight.delete(head);
      return { ...entry, len };
    });
    for (const { call, slot, len } of finished) this.complete(call, slot, len);
    return finished.length;
  }

  private complete(call: PendingCall, slot: Slot, len: number): void {
    const length = Math.min(len, this.responseBytes);
    const reply = this.memory.bytes.slice(slot.response, slot.response + length);
    this.releaseSlot(slot);
    if (len > this.responseBytes) {
      this.settle(
        call,
        new VrdmaError('TRANSPORT', `the device claims ${len} bytes in a ${length}-byte buffer`),
      );
    } else if (length === 0) {
      this.settle(
        call,
        new VrdmaError('TRANSPORT', 'empty reply: it did not fit or the host failed'),
      );
    } else if (length >= 8 && readCallId(reply) !== call.callId) {
      this.settle(
        call,
        new VrdmaError(
          'MALFORMED_FRAME',
          `reply for call ${readCallId(reply)}, expected ${call.callId}`,
        ),
      );
    } else {
      this.settle(call, reply);
    }
  }

  /** With a port: publishes our writes in order, then takes in the device's. */
  private sync(): void {
    if (!this.port) return;
    this.port.release(this.writes.splice(0));
    this.port.acquire();
  }

  private releaseSlot(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) this.issue(next, slot);
    else this.freeSlots.push(slot);
  }

  private settle(call: PendingCall, outcome: Uint8Array | VrdmaError): void {
    if (call.settled) return;
    call.settled = true;
    call.detach?.();
    if (outcome instanceof VrdmaError) call.reject(outcome);
    else call.resolve(outcome);
  }

  private fail(reason: VrdmaError): void {
    if (this.failure) return;
    this.failure = reason;
    this.unsubscribe();
    this.poller.stop();
    this.rejectAll(reason);
    for (const listener of this.listeners) listener(reason);
  }

  private rejectAll(reason: VrdmaError): void {
    for (const { call } of this.inFlight.values()) this.settle(call, reason);
    this.inFlight.clear();
    for (const call of this.waiting.splice(0)) this.settle(call, reason);
  }
}

function readCallId(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4, true);
}

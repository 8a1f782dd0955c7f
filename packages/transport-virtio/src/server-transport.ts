import {
  type FrameHandler,
  type Region,
  type ServerTransport,
  type TransportMetrics,
  VrdmaError,
} from '@vrdma/api-spec';
import { ContentionGuard } from '@vrdma/memory';
import { BusyPoller, type PollSide, type PollState } from './busy-poller.js';
import { type DescriptorChain, gatherReadable, scatterWritable } from './chain.js';
import {
  CONFIG,
  CONFIG_BLOCK_BYTES,
  initDeviceConfig,
  readFeatures,
  readQueueAddresses,
} from './config-block.js';
import {
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
} from './constants.js';
import { VirtqueueDevice } from './device.js';
import { checkDriverFeatures, DEVICE_FEATURES, type Features } from './features.js';
import type { MemoryPort } from './memory-port.js';
import type { NotificationSource, Notifier } from './notifier.js';
import { DEFAULT_POLL_BUDGET_US, PollBudget } from './poll-budget.js';
import { faultOf, QUEUE_FAULTS, type QueueFault, queueFaultError } from './queue-fault.js';
import { RingMemory } from './ring-memory.js';

export interface VirtioServerOptions {
  /** The guest's region; the host writes the configuration block at its start. */
  readonly region: Region;
  /** Kicks from the driver. */
  readonly kicks: NotificationSource;
  /** Interrupts to the driver. */
  readonly interrupts: Notifier;
  /** Features offered (default: VERSION_1, INDIRECT_DESC, EVENT_IDX). */
  readonly features?: Features;
  /** Largest queue the driver may set up (default 256). */
  readonly queueSizeMax?: number;
  /** Only for memory this process cannot map (see openFileMirror); absent for shared memory. */
  readonly port?: MemoryPort;
  /**
   * Longest the device keeps polling the avail ring, with kicks off, after it last served
   * work (µs, default 200); the window in use adapts below it (see PollBudget). 0 turns
   * polling off: every call after the device went back to sleep costs a kick. Always 0 with
   * a port: a look through it reads the whole file.
   */
  readonly pollBudgetUs?: number;
  /**
   * Poll on although this thread waits for a CPU meanwhile (cores set aside for vrdma). By
   * default a side that finds the cores oversubscribed stops polling for a while: spinning
   * then takes the CPU its peer needs to answer (see ContentionGuard).
   */
  readonly pollWhenContended?: boolean;
}

export interface VirtioServerTransport extends ServerTransport {
  /** Features the driver accepted, once it has attached. */
  readonly negotiated: Features | undefined;
  /** Why this guest's queue was marked broken, if it was. */
  readonly fault: QueueFault | undefined;
  /** The device's poll loop: whether it polls now, its counters and its window. */
  readonly poll: PollState;
  /**
   * Calls taken from the guest's avail ring and not yet answered: what this guest has the host
   * serving now, never more than its queue size (a head made available again before it was
   * returned breaks the queue: `head-in-use`).
   */
  readonly outstanding: number;
  /**
   * The host learned by other means that the guest is gone (its worker exited, its process
   * was reaped): stop serving it and fire onDisconnect with `reason`. Atomics doorbells cannot
   * tell a dead thread from an idle one; a stream doorbell's close is detected by itself.
   */
  detach(reason: VrdmaError): void;
}

/**
 * The host side of the control plane for one guest: the virtio device. Each chain the driver
 * makes available is one call (device-readable request, device-writable reply buffer); replies
 * go back through the used ring in any order. A hostile ring breaks this guest's queue only.
 */
export function createVirtioServerTransport(options: VirtioServerOptions): VirtioServerTransport {
  return new VirtioServer(options);
}

class VirtioServer implements VirtioServerTransport {
  private readonly counters = { messages: 0, doorbells: 0 };
  readonly metrics: TransportMetrics = this.counters;
  private readonly region: Region;
  private readonly memory: RingMemory;
  private readonly offered: Features;
  private readonly queueSizeMax: number;
  private readonly interrupts: Notifier;
  private readonly unsubscribe: () => void;
  private readonly listeners: Array<(reason: VrdmaError) => void> = [];
  private device: VirtqueueDevice | undefined;
  private handler: FrameHandler | undefined;
  private gone = false;
  private interruptScheduled = false;
  private readonly poller: BusyPoller;
  private faultKind: QueueFault | undefined;
  private readonly port: MemoryPort | undefined;
  private readonly writes: Array<readonly [number, number]> = [];
  private readonly recordWrite = (at: number, length: number): void => {
    this.writes.push([at, length]);
  };

  constructor(options: VirtioServerOptions) {
    this.region = options.region;
    this.memory = new RingMemory(options.region);
    this.offered = options.features ?? DEVICE_FEATURES;
    this.queueSizeMax = options.queueSizeMax ?? 256;
    this.interrupts = options.interrupts;
    this.port = options.port;
    if (this.port) this.memory.onWrite = this.recordWrite;
    initDeviceConfig(this.memory, this.offered, this.queueSizeMax);
    this.sync();
    const ceilingUs = this.port ? 0 : (options.pollBudgetUs ?? DEFAULT_POLL_BUDGET_US);
    this.poller = new BusyPoller(
      this.pollSide(),
      new PollBudget(ceilingUs),
      options.pollWhenContended ? null : new ContentionGuard(),
    );
    this.unsubscribe = options.kicks.subscribe(
      () => this.onKick(),
      () => this.disconnect(new VrdmaError('DISCONNECTED', "the guest's doorbell closed")),
      // While the poll loop runs, it owns the ring: the doorbell may sleep.
      () => !this.poller.polling && this.hasWork(),
    );
  }

  get negotiated(): Features | undefined {
    return this.device?.features;
  }

  get fault(): QueueFault | undefined {
    return this.faultKind;
  }

  get poll(): PollState {
    return this.poller.state;
  }

  get outstanding(): number {
    return this.device?.outstanding ?? 0;
  }

  serve(handler: FrameHandler): void {
    this.handler = handler;
    this.onKick();
  }

  onDisconnect(listener: (reason: VrdmaError) => void): void {
    this.listeners.push(listener);
  }

  detach(reason: VrdmaError): void {
    this.disconnect(reason);
  }

  async close(): Promise<void> {
    if (this.gone) return;
    this.gone = true;
    this.unsubscribe();
    this.poller.stop();
    this.memory.store32(CONFIG.fault, QUEUE_FAULTS['device-gone']);
    this.memory.or32(CONFIG.status, VIRTIO_CONFIG_S_NEEDS_RESET);
    this.ring();
  }

  private onKick(): void {
    if (this.gone) return;
    this.sync();
    if (this.queueLive() && this.handler) this.poller.doorbell();
  }

  /** Attaches at DRIVER_OK and lets go at a reset: true while the queue can be served. */
  private queueLive(): boolean {
    const status = this.memory.load32(CONFIG.status);
    if (!this.device) {
      if ((status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) return false;
      this.attach();
      return this.device !== undefined;
    }
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) {
      this.disconnect(new VrdmaError('DISCONNECTED', 'the guest reset the device'));
      return false;
    }
    return true;
  }

  /** Checks what the driver programmed before trusting any of it. */
  private attach(): void {
    try {
      if ((this.memory.load32(CONFIG.status) & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
        throw new VrdmaError('TRANSPORT', 'DRIVER_OK without FEATURES_OK (§3.1.1)');
      }
      const chosen = readFeatures(this.memory, CONFIG.driverFeatures);
      checkDriverFeatures(this.offered, chosen);
      const queue = readQueueAddresses(this.memory);
      if (queue.size > this.queueSizeMax) {
        throw new VrdmaError('TRANSPORT', `queue size ${queue.size} exceeds ${this.queueSizeMax}`);
      }
      this.device = new VirtqueueDevice(this.region, queue, chosen, {
        reserved: { start: 0, end: CONFIG_BLOCK_BYTES },
      });
      if (this.port) this.device.memory.onWrite = this.recordWrite;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.fail('bad-configuration', queueFaultError('bad-configuration', reason));
    }
  }

  /** The device's part in the poll loop: what it looks at, serves, and how it mutes kicks. */
  private pollSide(): PollSide {
    const serving = (): boolean =>
      !this.gone && this.handler !== undefined && this.device !== undefined && !this.device.fault;
    return {
      wanted: serving,
      ready: () => this.device!.pending() > 0,
      take: () => (serving() ? this.serveSlice() : 0),
      // Kicks off while the loop looks anyway: NO_NOTIFY, or with EVENT_IDX an avail_event
      // left behind (the driver kicks only when it crosses it).
      quiet: () => this.device?.disableKicks(),
      rearm: () => {
        if (!serving()) return false;
        this.device!.enableKicks();
        // Look again after publishing avail_event / clearing NO_NOTIFY: a chain made available
        // meanwhile may have come without a kick.
        this.sync();
        return this.device!.pending() > 0;
      },
      failed: (error) =>
        this.fail(faultOf(error) ?? 'bad-configuration', VrdmaError.from(error, 'TRANSPORT')),
    };
  }

  /**
   * Serves the chains the driver made available, at most max(64, queue size) of them: a guest
   * that keeps its queue full must not starve the others sharing this event loop (the poll
   * loop yields a turn after each slice). Throws when the ring is hostile.
   */
  private serveSlice(): number {
    this.sync();
    if (!this.queueLive()) return 0;
    const device = this.device!;
    const slice = Math.max(64, device.queue.size);
    let served = 0;
    while (served < slice) {
      const chain = device.pop();
      if (chain === null) break;
      this.serveChain(chain);
      served++;
    }
    return served;
  }

  private serveChain(chain: DescriptorChain): void {
    const request = gatherReadable(this.memory.bytes, chain);
    this.counters.messages++;
    let reply: Uint8Array | Promise<Uint8Array>;
    try {
      reply = this.handler!(request);
    } catch {
      reply = new Uint8Array(0); // a handler must not throw; the call fails on the guest side
    }
    if (reply instanceof Uint8Array) this.complete(chain, reply);
    else {
      reply.then(
        (bytes) => this.complete(chain, bytes),
        () => this.complete(chain, new Uint8Array(0)),
      );
    }
  }

  /** A reply that does not fit the driver's buffer is returned empty: the call fails there. */
  private complete(chain: DescriptorChain, reply: Uint8Array): void {
    const device = this.device;
    if (this.gone || !device || device.fault) return;
    const written =
      reply.length <= chain.writableBytes ? scatterWritable(this.memory.bytes, chain, reply) : 0;
    if (this.port) this.recordScatter(chain, written);
    device.pushUsed(chain, written);
    this.scheduleInterrupt();
    // The guest's next call comes soon after a reply, however long this one took to serve
    // (an async handler may outlast the window): poll for it from now.
    this.poller.expectAnswer();
  }

  /** Replies finished together share one interrupt decision. */
  private scheduleInterrupt(): void {
    if (this.interruptScheduled) return;
    this.interruptScheduled = true;
    queueMicrotask(() => {
      this.interruptScheduled = false;
      if (this.gone) return;
      this.sync(); // the used ring is out before deciding; used_event is fresh
      if (this.device?.needsInterrupt()) this.ring();
    });
  }

  private ring(): void {
    this.sync();
    if (this.interrupts.notify()) this.counters.doorbells++;
  }

  /** Would a kick find something to do: an attach, a reset, or chains to pop? */
  private hasWork(): boolean {
    if (this.gone) return false;
    const ready = (this.memory.load32(CONFIG.status) & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
    if (!this.device) return ready;
    return !ready || this.device.pending() > 0;
  }

  /** With a port: publishes this side's writes in order, then takes in the driver's. */
  private sync(): void {
    if (!this.port) return;
    this.port.release(this.writes.splice(0));
    this.port.acquire();
  }

  private recordScatter(chain: DescriptorChain, written: number): void {
    let left = written;
    for (const { addr, len } of chain.writable) {
      if (left === 0) break;
      const part = Math.min(len, left);
      this.writes.push([addr, part]);
      left -= part;
    }
  }

  /** Breaks this guest's queue, tells the guest (NEEDS_RESET + fault code), and lets go. */
  private fail(fault: QueueFault, error: VrdmaError): void {
    if (this.gone) return;
    this.faultKind = fault;
    this.memory.store32(CONFIG.fault, QUEUE_FAULTS[fault]);
    this.memory.or32(CONFIG.status, VIRTIO_CONFIG_S_NEEDS_RESET);
    this.ring();
    this.disconnect(error);
  }

  private disconnect(reason: VrdmaError): void {
    if (this.gone) return;
    this.gone = true;
    this.unsubscribe();
    this.poller.stop();
    for (const listener of this.listeners) listener(reason);
  }
}

import {
  type FrameHandler,
  type ServerTransport,
  type TransportMetrics,
  VrdmaError,
} from '@vrdma/api-spec';
import { Doorbell, type WakeChannel } from '@vrdma/memory';
import { channelWords, replyRingOffset, requestRingOffset, Word } from './channel-layout.js';
import { DisconnectSignal } from './disconnect-signal.js';
import { transportErrorFrame } from './error-frame.js';
import { Poller, type PollOptions } from './poller.js';
import { RingConsumer, RingProducer, type RingShape } from './ring.js';

/** Requests taken in one step at most, so one busy guest cannot starve the event loop. */
const MAX_REQUESTS_PER_STEP = 256;

interface Pushed {
  frame: Uint8Array;
  entries: number;
  resolve(): void;
}

/**
 * The host side of one guest's channel, as api-spec's ServerTransport. Everything it reads
 * from shared memory is checked (see ring.ts): a guest that corrupts its rings gets its
 * transport failed with TRANSPORT (onDisconnect), and the host carries on with the others.
 *
 * What a guest can make it hold is bounded: it takes requests from the ring only while fewer
 * than `maxInFlight` are being served (so replies waiting for room are bounded too), and a
 * completion waits for room in the ring inside its `push` promise. A guest that stops reading
 * stops its own traffic, nothing else.
 */
export class HostEndpoint implements ServerTransport {
  private readonly consumer: RingConsumer;
  private readonly producer: RingProducer;
  private readonly words: Int32Array;
  private readonly doorbell: Doorbell;
  private readonly poller: Poller;
  private backlog: Uint8Array[] = [];
  private pushes: Pushed[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private busyCheck: (() => boolean) | undefined;
  private handler: FrameHandler | undefined;
  private readonly disconnect = new DisconnectSignal();
  private served = 0;
  /** Completion entries pushed so far (u32, wrapping), published in Word.EntriesPushed. */
  private entriesPushed = 0;
  private teardown: (() => void) | undefined;

  readonly metrics: TransportMetrics;

  /** `shape` is the one the host chose when it created the channel; never re-read. */
  constructor(
    memory: ArrayBufferLike,
    shape: RingShape,
    wake: WakeChannel,
    options: PollOptions & { maxInFlight?: number } = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 4 * shape.slotCount;
    this.consumer = new RingConsumer(memory, requestRingOffset(), shape);
    this.producer = new RingProducer(memory, replyRingOffset(shape), shape);
    this.words = channelWords(memory);
    this.doorbell = new Doorbell(this.words, Word.HostSleeps, Word.GuestSleeps, wake);
    this.poller = new Poller(
      {
        step: () => this.step(),
        hasWork: () =>
          (this.consumer.available() > 0 && this.held < this.maxInFlight) ||
          ((this.backlog.length > 0 || this.pushes.length > 0) && this.producer.hasSpace()),
        active: () => this.handler !== undefined && !this.disconnect.fired,
        busy: () => this.inFlight > 0 || (this.busyCheck?.() ?? false),
        failed: (error) => this.fail(error),
      },
      this.doorbell,
      options,
    );
    const self = this;
    this.metrics = {
      get messages() {
        return self.served;
      },
      get doorbells() {
        return self.doorbell.rings;
      },
    };
  }

  /**
   * Tells the endpoint when the guest is sure to send more soon (its posted calls are still in
   * the engine): it then keeps polling the ring rather than sleeping, so posts cost no kick.
   */
  whileBusy(busy: () => boolean): void {
    this.busyCheck = busy;
  }

  onTeardown(teardown: () => void): void {
    this.teardown = teardown;
  }

  serve(handler: FrameHandler): void {
    this.handler = handler;
    this.poller.kick();
  }

  onDisconnect(listener: (reason: VrdmaError) => void): void {
    this.disconnect.listen(listener);
  }

  get disconnected(): VrdmaError | undefined {
    return this.disconnect.fired;
  }

  get maxPushFrame(): number {
    return this.producer.maxFrame;
  }

  /**
   * Writes a completion frame of `entries` completions into the guest's ring; resolves once it
   * is there. Rings a sleeping guest only once the entries it asked for are in (its GuestWakeAt
   * word: interrupt moderation); a guest that scribbles on the word delays only its own wake,
   * by at most its sleep timeout.
   */
  push(frame: Uint8Array, entries = 1): Promise<void> {
    if (this.disconnect.fired) return Promise.resolve();
    if (frame.length > this.producer.maxFrame)
      return Promise.reject(
        new VrdmaError('INTERNAL', `completion frame of ${frame.length} bytes exceeds a slot`),
      );
    if (this.backlog.length === 0 && this.pushes.length === 0) {
      try {
        if (this.producer.tryPush(frame)) {
          if (this.pushed(entries)) this.doorbell.ringIfSleeping();
          return Promise.resolve();
        }
      } catch (error) {
        this.fail(VrdmaError.from(error, 'TRANSPORT'));
        return Promise.resolve();
      }
    }
    return new Promise((resolve) => {
      this.pushes.push({ frame, entries, resolve });
      Atomics.store(this.words, Word.HostBlocked, 1);
      this.poller.kick();
    });
  }

  fail(reason: VrdmaError): void {
    if (!this.disconnect.fire(reason)) return;
    this.backlog = [];
    // Nothing more reaches a guest that is gone: whoever waited to push may go on.
    for (const pushed of this.pushes.splice(0)) pushed.resolve();
    this.poller.stop();
    this.doorbell.close();
    this.teardown?.();
  }

  async close(): Promise<void> {
    this.fail(new VrdmaError('DISCONNECTED', 'transport closed by the host'));
  }

  private step(): boolean {
    const moved = this.flushBacklog();
    let popped = false;
    for (let n = 0; n < MAX_REQUESTS_PER_STEP && this.held < this.maxInFlight; n++) {
      const request = this.consumer.tryPop();
      if (!request) break;
      popped = true;
      this.served++;
      this.handle(request);
    }
    // Space freed in the request ring matters to a guest only if it waits for some.
    if (popped && Atomics.load(this.words, Word.GuestBlocked) === 1) this.doorbell.ringIfSleeping();
    return moved || popped;
  }

  private handle(request: Uint8Array): void {
    let reply: Uint8Array | Promise<Uint8Array>;
    try {
      reply = this.handler!(request);
    } catch (error) {
      reply = transportErrorFrame(
        request,
        'INTERNAL',
        VrdmaError.from(error).message,
        this.producer.maxFrame,
      );
    }
    // An empty reply is NO_REPLY: a posted call, which the guest does not wait for.
    if (!(reply instanceof Promise)) {
      if (reply.length > 0) this.send(request, reply);
      return;
    }
    this.inFlight++;
    reply.then(
      (frame) => {
        this.settled();
        if (!(frame instanceof Uint8Array) || frame.length > 0) this.send(request, frame);
      },
      (error) => {
        this.settled();
        this.send(
          request,
          transportErrorFrame(
            request,
            'INTERNAL',
            VrdmaError.from(error).message,
            this.producer.maxFrame,
          ),
        );
      },
    );
  }

  /** A request finished; if the bound held the ring back, look at it again now. */
  private settled(): void {
    const wasAtBound = this.held >= this.maxInFlight;
    this.inFlight--;
    if (wasAtBound) {
      this.doorbell.wake();
      this.poller.kick();
    }
  }

  /**
   * Requests taken from the ring and not yet answered: being served, or their replies waiting
   * for room. Bounded by `maxInFlight`.
   */
  get held(): number {
    return this.inFlight + this.backlog.length;
  }

  private send(request: Uint8Array, reply: Uint8Array): void {
    if (this.disconnect.fired) return;
    let frame = reply;
    if (!(frame instanceof Uint8Array) || frame.length > this.producer.maxFrame) {
      frame = transportErrorFrame(
        request,
        'TRANSPORT',
        `reply of ${frame?.length} bytes exceeds the ring slot (${this.producer.maxFrame} bytes)`,
        this.producer.maxFrame,
      );
    }
    try {
      if (this.backlog.length === 0 && this.producer.tryPush(frame)) {
        this.doorbell.ringIfSleeping();
        return;
      }
    } catch (error) {
      this.fail(VrdmaError.from(error, 'TRANSPORT'));
      return;
    }
    this.backlog.push(frame);
    Atomics.store(this.words, Word.HostBlocked, 1);
    this.poller.kick();
  }

  /**
   * Counts `entries` more completions in the ring and publishes the count; true once the count
   * reached what the guest asked for before it slept (a wrapping comparison).
   */
  private pushed(entries: number): boolean {
    this.entriesPushed = (this.entriesPushed + Math.max(1, entries | 0)) | 0;
    Atomics.store(this.words, Word.EntriesPushed, this.entriesPushed);
    return ((this.entriesPushed - Atomics.load(this.words, Word.GuestWakeAt)) | 0) >= 0;
  }

  private flushBacklog(): boolean {
    let pushed = false;
    while (this.backlog.length > 0 && this.producer.tryPush(this.backlog[0]!)) {
      this.backlog.shift();
      pushed = true;
    }
    while (this.backlog.length === 0 && this.pushes.length > 0) {
      if (!this.producer.tryPush(this.pushes[0]!.frame)) break;
      const done = this.pushes.shift()!;
      this.pushed(done.entries);
      done.resolve();
      pushed = true;
    }
    if (this.backlog.length === 0 && this.pushes.length === 0)
      Atomics.store(this.words, Word.HostBlocked, 0);
    if (pushed) this.doorbell.ringIfSleeping();
    return pushed;
  }
}

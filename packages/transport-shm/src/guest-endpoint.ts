import {
  type CallInfo,
  type ClientTransport,
  FRAME_HEADER_SIZE,
  FrameKind,
  type QueueLink,
  type TransportMetrics,
  VrdmaError,
} from '@vrdma/api-spec';
import { Doorbell, type WakeChannel } from '@vrdma/memory';
import {
  channelWords,
  readChannelShape,
  replyRingOffset,
  requestRingOffset,
  Word,
} from './channel-layout.js';
import { DisconnectSignal } from './disconnect-signal.js';
import { Poller, type PollOptions } from './poller.js';
import { RingConsumer, RingProducer } from './ring.js';

interface PendingCall {
  resolve(reply: Uint8Array): void;
  reject(error: VrdmaError): void;
}

/** A request waiting for room in the ring; `sent` settles a posted call once it is in. */
interface Queued {
  frame: Uint8Array;
  sent?: { resolve(): void; reject(error: VrdmaError): void };
}

interface CompletionWaiter {
  /** Completions after which a sleeping guest wants the host to ring (see QueueLink). */
  wakeAfter: number;
  resolve(): void;
  reject(error: VrdmaError): void;
}

/**
 * The guest side of a channel, as api-spec's ClientTransport: requests go into the request
 * ring (or wait in order in a local queue while it is full), replies are matched to calls by
 * the call id at header offset 4. Posted calls go into the same ring and get no reply; the
 * completions the host writes into the reply ring are read when the guest reaps (`queues`).
 * The loop runs only while calls are in flight or a reaper waits.
 */
export class GuestEndpoint implements ClientTransport {
  private readonly producer: RingProducer;
  private readonly consumer: RingConsumer;
  private readonly words: Int32Array;
  private readonly doorbell: Doorbell;
  private readonly poller: Poller;
  private readonly pending = new Map<number, PendingCall>();
  private queue: Queued[] = [];
  private readonly completionWaiters = new Set<CompletionWaiter>();
  private completionSink: ((frame: Uint8Array) => void) | undefined;
  private readonly disconnect = new DisconnectSignal();
  private sent = 0;
  private teardown: (() => void) | undefined;

  readonly metrics: TransportMetrics;

  constructor(memory: ArrayBufferLike, wake: WakeChannel, options: PollOptions = {}) {
    const shape = readChannelShape(memory);
    this.producer = new RingProducer(memory, requestRingOffset(), shape);
    this.consumer = new RingConsumer(memory, replyRingOffset(shape), shape);
    this.words = channelWords(memory);
    this.doorbell = new Doorbell(this.words, Word.GuestSleeps, Word.HostSleeps, wake);
    this.poller = new Poller(
      {
        step: () => this.step(),
        hasWork: () =>
          this.consumer.available() > 0 || (this.queue.length > 0 && this.producer.hasSpace()),
        active: () =>
          !this.disconnect.fired &&
          (this.pending.size > 0 || this.queue.length > 0 || this.completionWaiters.size > 0),
        beforeSleep: () => this.askForRing(),
        failed: (error) => this.fail(error),
      },
      this.doorbell,
      options,
    );
    const self = this;
    this.metrics = {
      get messages() {
        return self.sent;
      },
      get doorbells() {
        return self.doorbell.rings;
      },
    };
  }

  /** Largest request frame a slot holds. */
  get maxFrame(): number {
    return this.producer.maxFrame;
  }

  /**
   * What to undo when the endpoint goes away (set by whoever attached it: the thread wrappers
   * here, the frontend's attach layer for processes).
   */
  onTeardown(teardown: () => void): void {
    this.teardown = teardown;
  }

  call(request: Uint8Array, info?: CallInfo): Promise<Uint8Array> {
    const failure = this.disconnect.fired;
    if (failure) return Promise.reject(failure);
    if (!(request instanceof Uint8Array) || request.length < FRAME_HEADER_SIZE) {
      return Promise.reject(new VrdmaError('MALFORMED_FRAME', 'a request must be a whole frame'));
    }
    if (request.length > this.producer.maxFrame) {
      return Promise.reject(
        new VrdmaError(
          'TRANSPORT',
          `frame of ${request.length} bytes exceeds the ring slot (${this.producer.maxFrame} bytes)`,
        ),
      );
    }
    const callId = new DataView(request.buffer, request.byteOffset, 8).getUint32(4, true);
    if (this.pending.has(callId)) {
      return Promise.reject(new VrdmaError('INTERNAL', `call id ${callId} is already in flight`));
    }
    const signal = info?.signal;
    if (signal?.aborted) return Promise.reject(new VrdmaError('ABORTED', 'call aborted'));
    const reply = new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(callId, { resolve, reject });
    });
    if (signal) {
      const onAbort = () => {
        const call = this.pending.get(callId);
        if (!call) return;
        this.pending.delete(callId);
        call.reject(new VrdmaError('ABORTED', 'call aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      reply.then(
        () => signal.removeEventListener('abort', onAbort),
        () => signal.removeEventListener('abort', onAbort),
      );
    }
    this.enqueue({ frame: request });
    this.poller.kick();
    return reply;
  }

  /** Posted calls and completions: see api-spec's QueueLink. */
  readonly queues: QueueLink = {
    post: (request) => this.post(request),
    onCompletions: (sink) => {
      this.completionSink = sink;
    },
    reap: () => {
      try {
        this.drainReplies();
      } catch (error) {
        this.fail(VrdmaError.from(error, 'TRANSPORT'));
      }
    },
    awaitCompletions: (timeoutMs, signal, wakeAfter) =>
      this.awaitCompletions(timeoutMs, signal, wakeAfter),
  };

  /**
   * Before it sleeps: tells the host after how many more completion entries to ring, the
   * fewest any waiter asked for (1 with none). Stored before the sleep is announced, and the
   * ring is looked at once more after it (Doorbell.sleep), so no completion goes unseen: one
   * pushed in between is found by that look.
   */
  private askForRing(): void {
    let wakeAfter = Number.POSITIVE_INFINITY;
    for (const waiter of this.completionWaiters) wakeAfter = Math.min(wakeAfter, waiter.wakeAfter);
    if (!Number.isFinite(wakeAfter)) wakeAfter = 1;
    const pushed = Atomics.load(this.words, Word.EntriesPushed);
    Atomics.store(this.words, Word.GuestWakeAt, (pushed + wakeAfter) | 0);
  }

  private post(request: Uint8Array): Promise<void> | undefined {
    const failure = this.disconnect.fired;
    if (failure) return Promise.reject(failure);
    if (request.length > this.producer.maxFrame)
      return Promise.reject(
        new VrdmaError(
          'TRANSPORT',
          `frame of ${request.length} bytes exceeds the ring slot (${this.producer.maxFrame} bytes)`,
        ),
      );
    if (this.queue.length === 0) {
      try {
        if (this.producer.tryPush(request)) {
          this.sent++;
          this.doorbell.ringIfSleeping();
          return undefined;
        }
      } catch (error) {
        this.fail(VrdmaError.from(error, 'TRANSPORT'));
        return Promise.reject(this.disconnect.fired);
      }
    }
    // The ring is full: the caller waits for room (back-pressure), in order with the others.
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ frame: request, sent: { resolve, reject } });
      this.poller.kick();
    });
  }

  private awaitCompletions(timeoutMs: number, signal?: AbortSignal, wakeAfter = 1): Promise<void> {
    const failure = this.disconnect.fired;
    if (failure) return Promise.reject(failure);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', waiter.resolve);
        this.completionWaiters.delete(waiter);
      };
      const waiter: CompletionWaiter = {
        // At least one, and never so many that the count could wrap past the host's.
        wakeAfter: Math.min(Math.max(1, Math.floor(wakeAfter) || 1), 1 << 20),
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(waiter.resolve, Math.max(0, timeoutMs));
      // An abort ends the wait (the caller looks at its signal): it must settle the promise.
      signal?.addEventListener('abort', waiter.resolve, { once: true });
      if (signal?.aborted) return waiter.resolve();
      this.completionWaiters.add(waiter);
      this.poller.kick();
    });
  }

  private enqueue(item: Queued): void {
    try {
      if (this.queue.length === 0 && this.producer.tryPush(item.frame)) {
        this.sent++;
        this.doorbell.ringIfSleeping();
        item.sent?.resolve();
      } else {
        this.queue.push(item);
        Atomics.store(this.words, Word.GuestBlocked, 1);
      }
    } catch (error) {
      this.fail(VrdmaError.from(error, 'TRANSPORT'));
    }
  }

  onDisconnect(listener: (reason: VrdmaError) => void): void {
    this.disconnect.listen(listener);
  }

  /** Why the transport stopped, once it has. */
  get disconnected(): VrdmaError | undefined {
    return this.disconnect.fired;
  }

  /** Fails every pending call with `reason` and stops; fires onDisconnect once. */
  fail(reason: VrdmaError): void {
    if (!this.disconnect.fire(reason)) return;
    const calls = [...this.pending.values()];
    const queued = this.queue;
    const waiters = [...this.completionWaiters];
    this.pending.clear();
    this.queue = [];
    this.completionWaiters.clear();
    for (const call of calls) call.reject(reason);
    for (const item of queued) item.sent?.reject(reason);
    for (const waiter of waiters) waiter.reject(reason);
    this.poller.stop();
    this.doorbell.close();
    this.teardown?.();
  }

  async close(): Promise<void> {
    this.fail(new VrdmaError('DISCONNECTED', 'transport closed by the guest'));
  }

  private step(): boolean {
    const popped = this.drainReplies();
    let pushed = false;
    while (this.queue.length > 0 && this.producer.tryPush(this.queue[0]!.frame)) {
      this.queue.shift()!.sent?.resolve();
      this.sent++;
      pushed = true;
    }
    if (this.queue.length === 0) Atomics.store(this.words, Word.GuestBlocked, 0);
    if (pushed) this.doorbell.ringIfSleeping();
    return popped || pushed;
  }

  /** Takes every frame the host wrote: replies to their calls, completions to the sink. */
  private drainReplies(): boolean {
    let popped = false;
    let completions = false;
    for (let frame = this.consumer.tryPop(); frame; frame = this.consumer.tryPop()) {
      popped = true;
      if (frame.length >= FRAME_HEADER_SIZE && frame[1] === FrameKind.Completion) {
        completions = true;
        this.completionSink?.(frame);
      } else this.deliver(frame);
    }
    if (popped && Atomics.load(this.words, Word.HostBlocked) === 1) this.doorbell.ringIfSleeping();
    if (completions) for (const waiter of [...this.completionWaiters]) waiter.resolve();
    return popped;
  }

  private deliver(frame: Uint8Array): void {
    if (frame.length < FRAME_HEADER_SIZE) return;
    const callId = new DataView(frame.buffer, frame.byteOffset, 8).getUint32(4, true);
    const call = this.pending.get(callId);
    if (!call) return; // aborted meanwhile: its late reply has no one to go to
    this.pending.delete(callId);
    call.resolve(frame);
  }
}

import type { Codec } from './codec.js';
import type { ApiSpec, CallOptions, CompiledFunction } from './define-api.js';
import { VrdmaError } from './errors.js';
import { decodeFrame, FrameKind } from './frame.js';
import { summariseIssues } from './issues.js';
import type { QueueLink } from './link.js';
import type { CompiledQueue } from './queue-plan.js';

/** One completion queue as the guest keeps it: what the host wrote and the app has not reaped. */
class LocalQueue {
  private entries: unknown[] = [];
  private head = 0;
  nextToken = 0;
  /** Posted and not yet reaped by the app (what `capacity` bounds). */
  outstanding = 0;
  private closed: Promise<void> | undefined;
  private close: (() => void) | undefined;
  dropped = false;

  constructor(
    readonly queue: CompiledQueue,
    readonly capacity: number,
  ) {}

  get ready(): number {
    return this.entries.length - this.head;
  }

  /**
   * How many completions a waiter that sleeps asks the host for before it rings: half of the
   * posts still in flight (at least one), so the guest wakes once per batch and posts its next
   * batch while the other half keeps the engine busy.
   */
  get wakeAfter(): number {
    return Math.max(1, Math.ceil((this.outstanding - this.ready) / 2));
  }

  add(entries: readonly unknown[]): void {
    for (const entry of entries) this.entries.push(entry);
  }

  take(max: number): unknown[] {
    const taken = this.entries.slice(this.head, this.head + max);
    this.head += taken.length;
    this.outstanding = Math.max(0, this.outstanding - taken.length);
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return taken;
  }

  /** Resolves when the queue is released (a waiter then returns what there is: nothing). */
  whenDropped(): Promise<void> {
    if (this.dropped) return Promise.resolve();
    this.closed ??= new Promise((resolve) => {
      this.close = resolve;
    });
    return this.closed;
  }

  drop(): void {
    this.dropped = true;
    this.entries = [];
    this.head = 0;
    this.close?.();
  }
}

/**
 * The guest's half of posted calls and completion queues: posted calls are validated here,
 * given a token and put in the submission ring with no wait for the host; reaping calls are
 * answered from the completions the host wrote into the guest's memory, with no crossing.
 * Queues are opened and dropped as the calls that create and release their handles succeed.
 */
export class GuestQueues {
  private readonly live = new Map<string, LocalQueue>();
  /** Completions that arrived for a queue the guest no longer has (released meanwhile). */
  strayCompletions = 0;

  constructor(
    private readonly spec: ApiSpec,
    private readonly codec: Codec,
    private readonly link: QueueLink,
  ) {
    link.onCompletions((frame) => this.deliver(frame));
  }

  /** True for the functions this answers: posted calls and reaping calls. */
  serves(fn: CompiledFunction): boolean {
    return fn.posted !== undefined || fn.reaps !== undefined;
  }

  call(fn: CompiledFunction, raw: unknown, options?: CallOptions): Promise<unknown> {
    try {
      // A posted call's fixed layout checks exactly what its schema does (see fixed-layout.ts)
      // as it encodes: no second validation in the hot path.
      if (fn.posted) return this.post(fn, (raw ?? {}) as Record<string, unknown>, options);
      return this.reap(fn, validate(fn, raw), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Opens the queues a successful call created and drops those it released. */
  track(fn: CompiledFunction, args: unknown, result: unknown): void {
    const { queues } = this.spec.queues;
    if (fn.releases && 'all' in fn.releases) {
      for (const queue of this.live.values()) queue.drop();
      this.live.clear();
      return;
    }
    if (fn.releases && queues.has(fn.releases.kind)) {
      const handle = (args as Record<string, unknown>)[fn.releases.field] as number;
      const key = keyOf(fn.releases.kind, handle);
      this.live.get(key)?.drop();
      this.live.delete(key);
    }
    const map = fn.resultKinds.map;
    if (!map) return;
    map(result, {
      handle: (kind, handle) => {
        const queue = queues.get(kind);
        if (queue)
          this.live.set(keyOf(kind, handle), new LocalQueue(queue, capacityOf(queue, result)));
        return handle;
      },
    });
  }

  /** One promise per post, the one the caller gets: the ring takes the frame at once. */
  private post(
    fn: CompiledFunction,
    args: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<unknown> {
    // Encoding validates the arguments; the token goes in once the queue has room.
    const frame = this.codec.encodeRequest(fn, 0, args, FrameKind.Post);
    const queue = this.queueNamed(fn, args[fn.posted!.queue]);
    const { capacity } = queue.queue;
    if (capacity && queue.outstanding >= queue.capacity)
      throw new VrdmaError(
        capacity.refusal,
        `${fn.name}: the queue holds ${queue.capacity} calls not yet reaped`,
      );
    const token = queue.nextToken;
    queue.nextToken = (token + 1) >>> 0;
    setCallId(frame, token);
    queue.outstanding++;
    const posted = { [queue.queue.token]: token };
    let sent: Promise<void> | undefined;
    try {
      sent = this.link.post(frame, { fn, callId: token, signal: options?.signal });
    } catch (error) {
      queue.outstanding--;
      throw error;
    }
    if (!sent) return Promise.resolve(posted);
    return sent.then(
      () => posted,
      (error: unknown) => {
        queue.outstanding--;
        throw error;
      },
    );
  }

  private async reap(
    fn: CompiledFunction,
    args: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<unknown> {
    const { queue: arg, max, timeoutMs } = fn.reaps!;
    const queue = this.queueNamed(fn, args[arg]);
    const field = queue.queue.entries;
    const limit = args[max] as number;
    this.link.reap();
    if (queue.ready > 0 || timeoutMs === undefined) return { [field]: queue.take(limit) };
    const deadline = performance.now() + (args[timeoutMs] as number);
    const signal = options?.signal;
    for (;;) {
      if (signal?.aborted) throw new VrdmaError('ABORTED', `${fn.name} aborted`);
      const remaining = deadline - performance.now();
      if (queue.dropped || remaining <= 0) return { [field]: [] };
      await Promise.race([
        this.link.awaitCompletions(remaining, signal, queue.wakeAfter),
        queue.whenDropped(),
      ]);
      this.link.reap();
      if (queue.ready > 0) return { [field]: queue.take(limit) };
    }
  }

  private queueNamed(fn: CompiledFunction, handle: unknown): LocalQueue {
    const kind = (this.spec.queues.queueOf(fn) ?? this.reapedBy(fn))!.kind;
    const queue = this.live.get(keyOf(kind, handle as number));
    if (!queue)
      throw new VrdmaError('BAD_HANDLE', `${fn.name}: ${kind} ${String(handle)} is not open here`);
    return queue;
  }

  /** The queue a reaping function reaps: the plan's, not derived again from its arguments. */
  private reapedBy(fn: CompiledFunction): CompiledQueue | undefined {
    for (const queue of this.spec.queues.queues.values())
      if (queue.poll === fn || queue.wait === fn) return queue;
    return undefined;
  }

  private deliver(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    const fn = this.spec.table[frame.fnId - 1];
    const kind = fn?.reaps ? this.reapedBy(fn)?.kind : undefined;
    const queue = kind === undefined ? undefined : this.live.get(keyOf(kind, frame.callId));
    if (!fn || !queue || frame.kind !== FrameKind.Completion) {
      this.strayCompletions++;
      return;
    }
    const result = this.codec.decodeResult(fn, frame) as Record<string, unknown[]>;
    queue.add(result[queue.queue.entries] ?? []);
  }
}

function keyOf(kind: string, handle: number): string {
  return `${kind}:${handle}`;
}

function capacityOf(queue: CompiledQueue, result: unknown): number {
  if (!queue.capacity) return Number.POSITIVE_INFINITY;
  const value = (result as Record<string, unknown>)[queue.capacity.field];
  return typeof value === 'number' ? value : Number.POSITIVE_INFINITY;
}

/** A posted or reaping call never reaches a host that could refuse it: the guest checks it. */
function validate(fn: CompiledFunction, raw: unknown): Record<string, unknown> {
  const parsed = fn.args.safeParse(raw ?? {});
  if (!parsed.success)
    throw new VrdmaError('INVALID_ARGUMENT', `${fn.name}: ${summariseIssues(parsed.error)}`);
  return parsed.data as Record<string, unknown>;
}

/** The call id of an encoded frame (header offset 4), set once the call's token is known. */
function setCallId(frame: Uint8Array, callId: number): void {
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(4, callId, true);
}

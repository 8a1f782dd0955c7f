import {
  type ApiSpec,
  type Codec,
  type CompiledFunction,
  type CompiledQueue,
  FrameKind,
  type PostedOutcome,
  VrdmaError,
} from '@vrdma/api-spec';

/**
 * Calls the engine (through the host's isolation: guest handles in, guest handles out); gives
 * the result, or a promise of it.
 */
export type EngineReaper = (fn: CompiledFunction, args: Record<string, unknown>) => unknown;

export interface HostQueuesOptions {
  spec: ApiSpec;
  codec: Codec;
  /** Writes a completion frame of `entries` completions into the guest's ring; resolves once it is there. */
  push: (frame: Uint8Array, entries: number) => Promise<void>;
  /** The largest frame `push` takes; a larger completion frame lets the guest go, with why. */
  maxFrame?: number;
  reap: EngineReaper;
  /** Whether the guest holds a handle of a queue's kind (a refusal goes only to a queue it has). */
  holds(kind: string, handle: number): boolean;
  /** The engine finished (or dropped) posted calls worth `bytes` of scheduler cost. */
  finished(bytes: number): void;
  /** The guest broke a bound (refusals it does not read): the host lets it go. */
  onOverflow(reason: VrdmaError): void;
  /** How long one engine wait lasts before the queue looks for refusals to send (ms). */
  engineWaitMs?: number;
  /** Entries the host keeps for the guest's queues, all together, while it does not read its ring. */
  maxRefusalsHeld?: number;
}

/** One completion queue of the guest, as the host feeds it. */
class HostQueue {
  /** The engine's token of each posted call not yet reaped from the engine → the guest's, and its cost. */
  readonly tokens = new Map<number, { token: number; cost: number }>();
  /** Completions the engine gave before the host knew their call (the post still returning). */
  readonly early = new Map<number, Record<string, unknown>>();
  /** Entries ready for the guest: refusals, and completions matched late. */
  ready: Record<string, unknown>[] = [];
  running = false;
  closed = false;

  constructor(
    readonly queue: CompiledQueue,
    readonly handle: number,
  ) {}

  /** Posted calls the engine accepted and still has to complete. */
  get outstanding(): number {
    return this.tokens.size;
  }
}

/**
 * The host's half of completion queues, for one guest. Posted calls the engine accepted are
 * remembered by the engine's token; a loop per queue reaps the engine (a look, then a wait) and
 * writes completions into the guest's ring, with the guest's tokens, many per frame. Posted
 * calls the host refused become entries of the spec's `refused` shape. A loop runs only while
 * its queue has work, and writes its next frame only once the previous one is in the ring, so
 * what the host holds for a guest is bounded by the engine's queues and `maxRefusalsHeld`.
 */
export class HostQueues {
  private readonly queues = new Map<number, HostQueue>();
  private stopped = false;
  /** Posted calls whose outcome could not be reported (no queue the host knows). */
  unreported = 0;

  constructor(private readonly options: HostQueuesOptions) {}

  accept(outcome: PostedOutcome): void {
    if (this.stopped) return;
    const { fn, token, queue: handle, result, error } = outcome;
    const queue = fn ? this.options.spec.queues.queueOf(fn) : undefined;
    // What the engine took counts in the scheduler's window until its completion is reaped.
    const cost = !error && fn && outcome.args ? Math.max(0, fn.cost(outcome.args)) : 0;
    if (!queue || handle === undefined) {
      this.options.finished(cost);
      this.unreported++;
      return;
    }
    let state = this.queues.get(handle);
    if (!state) {
      // Only a queue the guest holds gets one: a refused post may name any number.
      if (!this.options.holds(queue.kind, handle)) {
        this.options.finished(cost);
        this.unreported++;
        return;
      }
      state = new HostQueue(queue, handle);
      this.queues.set(handle, state);
    }
    if (error) {
      const waiting = this.waiting();
      if (waiting >= (this.options.maxRefusalsHeld ?? 4096)) {
        this.stop();
        this.options.onOverflow(
          new VrdmaError(
            'QUOTA_EXCEEDED',
            `${waiting} completions wait in completion queues the guest does not read`,
          ),
        );
        return;
      }
      state.ready.push(this.refusedEntry(queue, token, error));
    } else {
      const engineToken = (result as Record<string, number>)[queue.token]!;
      const early = state.early.get(engineToken);
      if (early) {
        state.early.delete(engineToken);
        this.options.finished(cost);
        state.ready.push({ ...early, [queue.token]: token });
      } else state.tokens.set(engineToken, { token, cost });
    }
    if (!state.running) void this.run(state);
  }

  /** The guest released a queue's handle: the engine dropped what it held, so does the host. */
  released(handle: number): void {
    const state = this.queues.get(handle);
    if (!state) return;
    this.drop(state);
  }

  releasedAll(): void {
    for (const handle of [...this.queues.keys()]) this.released(handle);
  }

  /** The guest is leaving: no loop goes on. */
  stop(): void {
    this.stopped = true;
    this.releasedAll();
  }

  /** Entries ready for the guest in all its queues (what a guest that does not read piles up). */
  private waiting(): number {
    let total = 0;
    for (const q of this.queues.values()) total += q.ready.length;
    return total;
  }

  /** What the host holds for the guest's queues now (posted calls, early and ready entries). */
  get held(): number {
    let total = 0;
    for (const q of this.queues.values()) total += q.outstanding + q.early.size + q.ready.length;
    return total;
  }

  /** The spec's entry for a refused call; one its entries cannot carry becomes INTERNAL. */
  private refusedEntry(queue: CompiledQueue, token: number, error: VrdmaError) {
    const entry = queue.refused(token, error) as Record<string, unknown>;
    try {
      this.options.codec.encodeResult(queue.poll, 0, { [queue.entries]: [entry] });
      return entry;
    } catch {
      const internal = new VrdmaError('INTERNAL', `${error.code}: ${error.message}`);
      return queue.refused(token, internal) as Record<string, unknown>;
    }
  }

  /** Forgets a queue; the engine dropped its calls, so their bytes leave the window. */
  private drop(state: HostQueue): void {
    state.closed = true;
    this.queues.delete(state.handle);
    let bytes = 0;
    for (const { cost } of state.tokens.values()) bytes += cost;
    state.tokens.clear();
    this.options.finished(bytes);
  }

  private async run(state: HostQueue): Promise<void> {
    state.running = true;
    const { queue, handle } = state;
    const max = queue.maxEntries;
    try {
      while (!state.closed && !this.stopped && (state.ready.length > 0 || state.outstanding > 0)) {
        const entries = state.ready.splice(0, max);
        if (entries.length < max && state.outstanding > 0) {
          const room = max - entries.length;
          let reaped = await this.reapEngine(queue.poll, queue, handle, room);
          if (reaped.length === 0 && entries.length === 0 && state.ready.length === 0)
            reaped = await this.reapEngine(queue.wait, queue, handle, room);
          for (const entry of reaped) this.match(state, entry, entries);
        }
        if (entries.length > 0 && !state.closed && !this.stopped) {
          const frame = this.frameOf(queue, handle, entries);
          if (!frame) return;
          await this.options.push(frame, entries.length);
        }
      }
    } catch {
      // The engine no longer knows the queue (released meanwhile, or the guest is leaving).
      if (this.queues.get(handle) === state) this.drop(state);
      else state.closed = true;
    } finally {
      state.running = false;
    }
  }

  /**
   * The completion frame of `entries`, or undefined when it is larger than the guest's ring
   * takes (a spec whose poll result outgrows the ring's slots): the guest could never read it,
   * so it is let go with the reason, never left waiting for completions that do not come.
   */
  private frameOf(
    queue: CompiledQueue,
    handle: number,
    entries: Record<string, unknown>[],
  ): Uint8Array | undefined {
    const frame = this.options.codec.encodeResult(
      queue.poll,
      handle,
      { [queue.entries]: entries },
      FrameKind.Completion,
    );
    const limit = this.options.maxFrame ?? Number.POSITIVE_INFINITY;
    if (frame.length <= limit) return frame;
    this.stop();
    this.options.onOverflow(
      new VrdmaError(
        'INTERNAL',
        `a completion frame of ${queue.poll.name} takes ${frame.length} bytes; the guest's ` +
          `ring takes frames of at most ${limit}`,
      ),
    );
    return undefined;
  }

  private match(
    state: HostQueue,
    entry: Record<string, unknown>,
    out: Record<string, unknown>[],
  ): void {
    const field = state.queue.token;
    const engineToken = entry[field] as number;
    const posted = state.tokens.get(engineToken);
    if (posted === undefined) {
      state.early.set(engineToken, entry);
      return;
    }
    state.tokens.delete(engineToken);
    this.options.finished(posted.cost);
    out.push({ ...entry, [field]: posted.token });
  }

  private async reapEngine(
    fn: CompiledFunction,
    queue: CompiledQueue,
    handle: number,
    max: number,
  ): Promise<Record<string, unknown>[]> {
    const { reaps } = fn;
    const args: Record<string, unknown> = { [reaps!.queue]: handle, [reaps!.max]: max };
    if (reaps!.timeoutMs) args[reaps!.timeoutMs] = this.options.engineWaitMs ?? 20;
    const result = (await this.options.reap(fn, args)) as Record<string, unknown>;
    return (result[queue.entries] as Record<string, unknown>[]) ?? [];
  }
}

import { VrdmaError } from '@vrdma/api-spec';
import { isPending } from './interceptor.js';
import { Refusal } from './refusal.js';

interface Task {
  cost: number;
  /** The engine holds the task's bytes until `release`: they count against the window. */
  held: boolean;
  run: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What the scheduler gave one guest, counted as its tasks start (and the engine takes them). */
export interface FlowStats {
  /**
   * Bytes of the guest's tasks started. A task that fails (the engine refused the post) is
   * refunded and not counted: these are bytes the engine accepted.
   */
  bytes: number;
  /**
   * Of those, bytes started in rounds that began with another guest backlogged too: the bytes
   * that fairness is about (alone, a guest may use the whole engine).
   */
  contendedBytes: number;
}

export interface FairSchedulerOptions {
  /** Tasks a guest may have waiting at once; one more is refused with QUOTA_EXCEEDED. */
  maxQueued?: number;
  /**
   * Tasks a guest alone may start in a row before the scheduler lets the event loop turn once.
   * Alone it never waits for a round; this only keeps a guest whose posts arrive by microtasks
   * (an in-process transport) from holding off timers and other guests' transports for good.
   */
  tasksPerTurn?: number;
  /**
   * Bytes started, while guests compete, before the scheduler lets the event loop turn (so posts
   * sent meanwhile join the next round). Rounds go on back to back until then: one turn per
   * round would admit only a quantum per guest per turn, and leave the engine idle between.
   */
  bytesPerTurn?: number;
  /**
   * Bytes of held tasks (posted calls the engine is still moving) the engine may have at once,
   * all guests together; a task starts only while fewer are held (one always may). The queue
   * then forms here, where the scheduler orders it by weight, not in the engine.
   */
  window?: number;
}

const DEFAULTS: Required<FairSchedulerOptions> = {
  maxQueued: 4096,
  tasksPerTurn: 1024,
  bytesPerTurn: 4 * 1024 * 1024,
  window: 64 * 1024 * 1024,
};

interface Flow {
  /** quantum × weight: what a visit in a round adds to the deficit. */
  readonly credit: number;
  readonly stats: FlowStats;
  /** Credit (> 0) or debt (< 0), in bytes. */
  deficit: number;
  queue: Task[];
  /** Backlogged: waiting in `active`, in the round under way, or being served; never twice. */
  scheduled: boolean;
  /** The round count when the flow last went idle: its debt is repaid from there on. */
  idleSince: number;
  removed: boolean;
  /** Bytes of this guest's held tasks the engine has not finished. */
  held: number;
}

/** Lets the event loop run: transports deliver what guests posted meanwhile. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Deficit round robin over guests, on bytes, with debt: tasks (engine posts) run one at a
 * time. In each round a backlogged guest gets `quantum × weight` bytes of credit and starts
 * tasks while its deficit is positive, each task's whole cost subtracted when it starts: a
 * large post starts at once and leaves the guest in debt, which later rounds repay before it
 * starts anything again. Over rounds, backlogged guests get bytes in proportion to their
 * weights, whatever the sizes of their posts. A guest alone never waits for rounds (no one
 * else could use them): the rounds it would wait through are counted, not taken. Credit is
 * lost when a guest's queue empties; debt is kept and repaid as rounds go by, so going idle
 * for a moment never wipes it. A task that fails is refunded.
 */
export class FairScheduler {
  private readonly flows = new Map<number, Flow>();
  /** Backlogged flows in round order; those of the round under way are out of it. */
  private readonly active: Flow[] = [];
  private readonly options: Required<FairSchedulerOptions>;
  /** Rounds so far, those a guest alone skipped included. */
  private rounds = 0;
  /** Tasks started since the scheduler last let the event loop turn. */
  private sinceTurn = 0;
  /** Bytes started since the scheduler last let the event loop turn. */
  private bytesSinceTurn = 0;
  private turnsTaken = 0;
  /** Bytes of held tasks in the engine, all guests together. */
  private inEngine = 0;
  private windowOpened: (() => void) | undefined;
  /** The window the pump waits to fall below (see `windowFor`). */
  private waitingBelow = Number.POSITIVE_INFINITY;
  private running = false;

  constructor(
    private readonly quantum: number,
    options: FairSchedulerOptions = {},
  ) {
    if (!(quantum > 0) || !Number.isFinite(quantum))
      throw new RangeError(`the quantum must be a positive number of bytes, not ${quantum}`);
    this.options = { ...DEFAULTS, ...options };
  }

  /** Schedules a guest; returns its live counts. */
  addFlow(id: number, weight = 1): Readonly<FlowStats> {
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new VrdmaError(
        'INVALID_ARGUMENT',
        `a scheduling weight must be positive, not ${weight}`,
      );
    const stats: FlowStats = { bytes: 0, contendedBytes: 0 };
    this.flows.set(id, {
      credit: this.quantum * weight,
      stats,
      deficit: 0,
      queue: [],
      scheduled: false,
      idleSince: this.rounds,
      removed: false,
      held: 0,
    });
    return stats;
  }

  /** Forgets a guest; its queued tasks fail with `reason` and never run. */
  removeFlow(id: number, reason: VrdmaError): void {
    const flow = this.flows.get(id);
    if (!flow) return;
    this.flows.delete(id);
    flow.removed = true;
    this.release(flow, flow.held);
    const at = this.active.indexOf(flow);
    if (at >= 0) this.active.splice(at, 1);
    for (const task of flow.queue.splice(0)) task.reject(reason);
  }

  /**
   * Runs `task` when its guest's turn comes; `cost` is in bytes. Refused at once with
   * QUOTA_EXCEEDED when the guest already has `maxQueued` tasks waiting. The task starts on a
   * later microtask at the earliest, so that all guests' tasks submitted in one tick join the
   * first round.
   */
  run<T>(
    id: number,
    cost: number,
    task: () => T | Promise<T>,
    options: { held?: boolean } = {},
  ): Promise<T> {
    const flow = this.flows.get(id);
    const refusal = this.refusal(id, flow, cost);
    if (refusal) return Promise.reject(refusal);
    return this.enqueue(flow!, { cost, held: options.held ?? false, run: task });
  }

  /**
   * As `run`, for a caller that hands over each guest's tasks in an event-loop turn of their
   * own (a host's polled transports: one guest's ring per step): when nothing waits anywhere
   * and the engine has room, the pump's next move would be to start this task alone, so it
   * starts now and its own outcome is given back (a value, a throw, or its promise). A task
   * the engine takes at once then costs no promise. A refusal is thrown.
   */
  runNow<T>(
    id: number,
    cost: number,
    task: () => T | Promise<T>,
    options: { held?: boolean } = {},
  ): T | Promise<T> {
    const flow = this.flows.get(id);
    const refusal = this.refusal(id, flow, cost);
    if (refusal) throw refusal;
    const queued = { cost, held: options.held ?? false, run: task };
    if (this.mayStartNow(flow!, cost)) return this.startNow(flow!, queued);
    return this.enqueue(flow!, queued);
  }

  /** Why a task cannot even wait for its turn, if it cannot. */
  private refusal(id: number, flow: Flow | undefined, cost: number): VrdmaError | undefined {
    if (!flow) return new VrdmaError('DISCONNECTED', `guest ${id} is not scheduled`);
    if (!(cost >= 0) || !Number.isFinite(cost))
      return new VrdmaError('INTERNAL', `a task must cost a finite number of bytes, not ${cost}`);
    if (flow.queue.length >= this.options.maxQueued)
      return new Refusal(
        'quota',
        'QUOTA_EXCEEDED',
        `${this.options.maxQueued} posts are already waiting for the engine`,
      );
    return undefined;
  }

  private enqueue<T>(flow: Flow, task: Omit<Task, 'resolve' | 'reject'>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      flow.queue.push({ ...task, resolve: resolve as (v: unknown) => void, reject });
      if (!flow.scheduled) this.backlogged(flow);
      if (!this.running) {
        // Start on the next microtask, so everything submitted in this tick joins the first round.
        this.running = true;
        queueMicrotask(() => void this.pump());
      }
    });
  }

  /**
   * The engine finished `cost` bytes of a held task of guest `id` (or dropped them): they leave
   * the window. A guest already removed released everything then.
   */
  finished(id: number, cost: number): void {
    const flow = this.flows.get(id);
    if (flow) this.release(flow, Math.min(cost, flow.held));
  }

  /**
   * No guest is backlogged, no task is under way and the engine's window has room: whatever
   * the pump would do next is to start this task, alone. Within `tasksPerTurn` in a row: past
   * it the task queues, and the pump lets the event loop turn first.
   */
  private mayStartNow(flow: Flow, cost: number): boolean {
    return (
      !this.running &&
      this.active.length === 0 &&
      flow.queue.length === 0 &&
      !this.engineFull(cost) &&
      this.sinceTurn < this.options.tasksPerTurn
    );
  }

  /**
   * Starts a task now, as `serveAlone` starts one. A task that goes on after it returns (a
   * promise) holds the scheduler meanwhile: tasks start one at a time, and what comes in the
   * meantime queues for the pump, which starts once it settles.
   */
  private startNow<T>(flow: Flow, task: Omit<Task, 'resolve' | 'reject'>): T | Promise<T> {
    this.repayAlone(flow);
    this.charge(flow, task.cost);
    let result: unknown;
    try {
      result = task.run();
    } catch (error) {
      flow.deficit += task.cost;
      throw error;
    }
    if (!isPending(result)) {
      this.account(flow, task, false);
      return result as T;
    }
    this.running = true;
    return Promise.resolve(result as T | Promise<T>).then(
      (value) => {
        this.account(flow, task, false);
        this.resume();
        return value;
      },
      (error: unknown) => {
        flow.deficit += task.cost;
        this.resume();
        throw error;
      },
    );
  }

  /** A task started by `startNow` settled: the pump serves what queued meanwhile. */
  private resume(): void {
    if (this.active.length === 0) {
      this.running = false;
      return;
    }
    queueMicrotask(() => void this.pump());
  }

  /** Bytes of held tasks in the engine now, all guests together. */
  get held(): number {
    return this.inEngine;
  }

  private release(flow: Flow, cost: number): void {
    if (cost <= 0) return;
    flow.held -= cost;
    this.inEngine -= cost;
    if (this.inEngine < this.waitingBelow) {
      const opened = this.windowOpened;
      this.windowOpened = undefined;
      opened?.();
    }
  }

  /**
   * The window for a task of `cost` bytes: at least two such tasks fit, so that the engine is
   * never left with a single large transfer and nothing queued behind it while its completion
   * travels back to the host.
   */
  private windowFor(cost: number): number {
    return Math.max(this.options.window, 2 * cost);
  }

  /** True when a task of `cost` bytes must wait for the engine to finish some held ones. */
  private engineFull(cost: number): boolean {
    return this.inEngine >= this.windowFor(cost);
  }

  /** Resolves once the engine holds less than the window for a task of `cost` bytes. */
  private async roomInEngine(cost: number): Promise<void> {
    while (this.engineFull(cost)) {
      this.waitingBelow = this.windowFor(cost);
      await new Promise<void>((resolve) => {
        this.windowOpened = resolve;
      });
    }
    this.waitingBelow = Number.POSITIVE_INFINITY;
  }

  get backlog(): number {
    let total = 0;
    for (const flow of this.flows.values()) total += flow.queue.length;
    return total;
  }

  /** Event-loop turns the scheduler has waited for: one per `bytesPerTurn` while guests compete. */
  get turns(): number {
    return this.turnsTaken;
  }

  private backlogged(flow: Flow): void {
    flow.scheduled = true;
    // Rounds went by while it was idle: they repaid its debt as they would have had it waited.
    if (flow.deficit < 0)
      flow.deficit = Math.min(0, flow.deficit + (this.rounds - flow.idleSince) * flow.credit);
    this.active.push(flow);
  }

  private idle(flow: Flow): void {
    flow.scheduled = false;
    flow.deficit = Math.min(0, flow.deficit);
    flow.idleSince = this.rounds;
  }

  private async pump(): Promise<void> {
    try {
      while (this.active.length > 0) {
        const next = this.active[0]!.queue[0]?.cost ?? 0;
        if (this.engineFull(next)) {
          await this.roomInEngine(next);
          continue;
        }
        if (this.active.length === 1) {
          if (this.sinceTurn >= this.options.tasksPerTurn) await this.yieldTurn();
          else {
            const alone = this.serveAlone(this.active[0]!);
            if (alone) await alone;
          }
          continue;
        }
        await this.round();
        // Let transports deliver what guests sent meanwhile, so they join a later round: once
        // per `bytesPerTurn` started, not per round (a round may start a quantum per guest
        // only, and the engine would idle between turns), and only while guests compete:
        // alone, a guest's next post just goes.
        if (
          this.active.length > 1 &&
          (this.bytesSinceTurn >= this.options.bytesPerTurn ||
            this.sinceTurn >= this.options.tasksPerTurn)
        )
          await this.yieldTurn();
      }
    } finally {
      this.running = false;
    }
  }

  private async yieldTurn(): Promise<void> {
    this.turnsTaken++;
    await turn();
    this.sinceTurn = 0;
    this.bytesSinceTurn = 0;
  }

  /** One round: every flow backlogged at its start gets its credit and spends it. */
  private async round(): Promise<void> {
    this.rounds++;
    // Flows that become backlogged meanwhile join the next round.
    for (const flow of this.active.splice(0)) {
      if (flow.removed) continue;
      flow.deficit += flow.credit;
      while (flow.queue.length > 0 && flow.deficit > 0 && !flow.removed) {
        if (this.engineFull(flow.queue[0]!.cost)) {
          await this.roomInEngine(flow.queue[0]!.cost);
          if (flow.removed || flow.queue.length === 0) break;
        }
        const started = this.start(flow, true);
        if (started) await started;
      }
      if (flow.removed) continue;
      if (flow.queue.length > 0) this.active.push(flow);
      else this.idle(flow);
    }
  }

  /**
   * Starts the next task of the only backlogged flow. Rounds in which no one else is
   * backlogged cost nothing, so the rounds it would need to get out of debt pass at once.
   */
  private serveAlone(flow: Flow): undefined | Promise<void> {
    this.repayAlone(flow);
    const started = this.start(flow, false);
    if (!started) return this.servedAlone(flow);
    return started.then(() => this.servedAlone(flow));
  }

  /** A guest alone in debt: the rounds it would wait through pass at once (counted, not taken). */
  private repayAlone(flow: Flow): void {
    if (flow.deficit > 0) return;
    const skipped = Math.floor(-flow.deficit / flow.credit) + 1;
    this.rounds += skipped;
    flow.deficit += skipped * flow.credit;
  }

  private servedAlone(flow: Flow): undefined {
    if (flow.removed || flow.queue.length > 0) return;
    this.active.splice(this.active.indexOf(flow), 1);
    this.idle(flow);
  }

  /**
   * Starts the next task of `flow`; returns a promise only while the task is under way (a task
   * that finished at once costs no promise: the scheduler's layers are most of a post's cost).
   * The caller has made sure the engine's window has room.
   */
  private start(flow: Flow, contended: boolean): undefined | Promise<void> {
    const task = flow.queue.shift()!;
    this.charge(flow, task.cost);
    let result: unknown;
    try {
      result = task.run();
    } catch (error) {
      return this.refunded(flow, task, error);
    }
    if (!isPending(result)) return this.started(flow, task, contended, result);
    return Promise.resolve(result).then(
      (value) => this.started(flow, task, contended, value),
      (error: unknown) => this.refunded(flow, task, error),
    );
  }

  /** A task is about to start: its cost leaves its guest's deficit and counts in the turn. */
  private charge(flow: Flow, cost: number): void {
    flow.deficit -= cost;
    this.sinceTurn++;
    this.bytesSinceTurn += cost;
  }

  private started(flow: Flow, task: Task, contended: boolean, result: unknown): undefined {
    this.account(flow, task, contended);
    task.resolve(result);
  }

  /** The engine took a task: its bytes count for its guest, and in the window while held. */
  private account(flow: Flow, task: Pick<Task, 'cost' | 'held'>, contended: boolean): void {
    flow.stats.bytes += task.cost;
    if (contended) flow.stats.contendedBytes += task.cost;
    if (task.held && !flow.removed) {
      flow.held += task.cost;
      this.inEngine += task.cost;
    }
  }

  /** The engine refused it: it used nothing, so it costs nothing. */
  private refunded(flow: Flow, task: Task, error: unknown): undefined {
    flow.deficit += task.cost;
    task.reject(error);
  }
}

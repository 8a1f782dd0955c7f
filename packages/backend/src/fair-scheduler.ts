import { VrdmaError } from '@vrdma/api-spec';

interface Task {
  cost: number;
  run: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What the scheduler gave one guest, counted as tasks start. */
export interface FlowStats {
  /** Bytes of the guest's tasks started. */
  bytes: number;
  /**
   * Of those, bytes started in rounds that began with another guest backlogged too: the bytes
   * that fairness is about (alone, a guest may use the whole engine).
   */
  contendedBytes: number;
}

interface Flow {
  weight: number;
  stats: FlowStats;
  deficit: number;
  queue: Task[];
  /** In the round, or being served: never both, never twice. */
  scheduled: boolean;
}

/**
 * Deficit round robin over guests, on bytes: tasks (engine posts) run one at a time, and in
 * each round a backlogged guest may run tasks worth up to `quantum × weight` bytes (unused
 * credit carries over only while it stays backlogged). A guest that floods the engine gets its
 * share, not more; an idle guest costs nothing.
 */
export class FairScheduler {
  private readonly flows = new Map<number, Flow>();
  private readonly round: number[] = [];
  private running = false;

  constructor(private readonly quantum: number) {}

  /** Schedules a guest; returns its live counts. */
  addFlow(id: number, weight = 1): Readonly<FlowStats> {
    const stats: FlowStats = { bytes: 0, contendedBytes: 0 };
    this.flows.set(id, { weight, stats, deficit: 0, queue: [], scheduled: false });
    return stats;
  }

  /** Forgets a guest; its queued tasks fail with `reason` and never run. */
  removeFlow(id: number, reason: VrdmaError): void {
    const flow = this.flows.get(id);
    if (!flow) return;
    this.flows.delete(id);
    for (const task of flow.queue.splice(0)) task.reject(reason);
  }

  /** Runs `task` when its guest's turn comes; `cost` is in bytes. */
  run<T>(id: number, cost: number, task: () => T | Promise<T>): Promise<T> {
    const flow = this.flows.get(id);
    if (!flow)
      return Promise.reject(new VrdmaError('DISCONNECTED', `guest ${id} is not scheduled`));
    return new Promise<T>((resolve, reject) => {
      if (!flow.scheduled) {
        flow.scheduled = true;
        this.round.push(id);
      }
      flow.queue.push({ cost, run: task, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) {
        // Start on the next microtask, so everything submitted in this tick joins the first round.
        this.running = true;
        queueMicrotask(() => void this.pump());
      }
    });
  }

  get backlog(): number {
    let total = 0;
    for (const flow of this.flows.values()) total += flow.queue.length;
    return total;
  }

  private async pump(): Promise<void> {
    try {
      while (this.round.length > 0) {
        // One round: every flow backlogged at its start gets its credit and spends it.
        const contended = this.round.length > 1;
        for (let visits = this.round.length; visits > 0; visits--)
          await this.visit(this.round.shift()!, contended);
        // Then let transports deliver what guests sent meanwhile, so they join the next round.
        // Once per round, not per task: a guest's batch of posts enters the engine together.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
    }
  }

  private async visit(id: number, contended: boolean): Promise<void> {
    const flow = this.flows.get(id);
    if (!flow || flow.queue.length === 0) return;
    flow.deficit += this.quantum * flow.weight;
    while (
      flow.queue.length > 0 &&
      flow.queue[0]!.cost <= flow.deficit &&
      this.flows.get(id) === flow
    ) {
      const task = flow.queue.shift()!;
      flow.deficit -= task.cost;
      flow.stats.bytes += task.cost;
      if (contended) flow.stats.contendedBytes += task.cost;
      try {
        task.resolve(await task.run());
      } catch (error) {
        task.reject(error);
      }
    }
    if (this.flows.get(id) !== flow) return;
    if (flow.queue.length > 0) this.round.push(id);
    else {
      flow.scheduled = false;
      flow.deficit = 0;
    }
  }
}

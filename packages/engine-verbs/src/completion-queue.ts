import { VrdmaError } from '@vrdma/api-spec';
import type { WorkCompletion } from '@vrdma/verbs-api';

/**
 * One completion queue: the work completions the device wrote and the application has not
 * polled. Posts that have not been polled yet count against `cqe` (CQ_FULL beyond it), so the
 * queue can never overflow, which libibverbs leaves to the application to get right.
 */
export class CompletionQueue {
  private entries: WorkCompletion[] = [];
  private outstanding = 0;
  private nextPost = 0;
  private waiters: Array<() => void> = [];
  /** Queue pairs reporting here: the CQ cannot be destroyed under them. */
  users = 0;
  destroyed = false;

  constructor(readonly cqe: number) {}

  /** Takes one slot for a new post and names it; CQ_FULL when every slot is taken. */
  reserve(fn: string): number {
    if (this.outstanding >= this.cqe)
      throw new VrdmaError(
        'CQ_FULL',
        `${fn}: the CQ holds ${this.cqe} work requests not yet polled`,
      );
    this.outstanding++;
    const post = this.nextPost;
    this.nextPost = (post + 1) >>> 0;
    return post;
  }

  complete(entry: WorkCompletion): void {
    if (this.destroyed) return;
    this.entries.push(entry);
    for (const wake of this.waiters.splice(0)) wake();
  }

  take(max: number): WorkCompletion[] {
    const taken = this.entries.splice(0, max);
    this.outstanding -= taken.length;
    return taken;
  }

  /** Takes up to `max` completions, waiting up to `timeoutMs` for the first. */
  async wait(max: number, timeoutMs: number): Promise<WorkCompletion[]> {
    if (this.entries.length === 0 && timeoutMs > 0 && !this.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
    return this.take(max);
  }

  destroy(): void {
    this.destroyed = true;
    this.entries = [];
    for (const wake of this.waiters.splice(0)) wake();
  }
}

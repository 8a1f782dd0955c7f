import type { Handle } from '@vrdma/api-spec';
import type { VerbsApi } from './engine.js';
import type { WorkCompletion } from './spec.js';

/**
 * Waits for the completion of given posts on a CQ, keeping the completions of other posts it
 * reaps meanwhile for whoever asks for them next: an application with several requests in
 * flight on one CQ needs this once it waits for one in particular.
 */
export class CompletionWaiter {
  private readonly stash = new Map<number, Map<number, WorkCompletion>>();

  constructor(private readonly api: Pick<VerbsApi, 'waitCq'>) {}

  /** The completions of `posts` (in that order), waiting up to `timeoutMs` in all. */
  async completionsOf(
    cq: Handle<'Cq'>,
    posts: readonly number[],
    timeoutMs = 10_000,
  ): Promise<WorkCompletion[]> {
    const stash = this.stashOf(cq);
    const deadline = performance.now() + timeoutMs;
    while (posts.some((p) => !stash.has(p))) {
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0)
        throw new Error(`posts ${posts.filter((p) => !stash.has(p))} did not complete in time`);
      const { completions } = await this.api.waitCq({ cq, timeoutMs: Math.min(left, 200) });
      for (const c of completions) stash.set(c.post, c);
    }
    return posts.map((p) => {
      const found = stash.get(p)!;
      stash.delete(p);
      return found;
    });
  }

  async completionOf(cq: Handle<'Cq'>, post: number, timeoutMs?: number): Promise<WorkCompletion> {
    return (await this.completionsOf(cq, [post], timeoutMs))[0]!;
  }

  /** Forgets what it kept for a CQ (once it is destroyed). */
  forget(cq: Handle<'Cq'>): void {
    this.stash.delete(cq);
  }

  private stashOf(cq: number): Map<number, WorkCompletion> {
    let stash = this.stash.get(cq);
    if (!stash) {
      stash = new Map();
      this.stash.set(cq, stash);
    }
    return stash;
  }
}

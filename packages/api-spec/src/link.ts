import type { CompiledFunction } from './define-api.js';

/** What a link is told about a call besides its bytes. */
export interface CallInfo {
  readonly fn: CompiledFunction;
  readonly callId: number;
  readonly signal?: AbortSignal;
}

/**
 * Posted calls and completions, for links whose transport has a submission ring and a
 * completion ring in memory shared with the host. Nothing here waits for the host.
 */
export interface QueueLink {
  /**
   * Puts a posted request (FrameKind.Post) in the submission ring. Returns nothing when it is
   * there already (the common case: no promise to pay for), else a promise that resolves once
   * it is: a full ring is back-pressure, and the promise waits for room.
   */
  post(request: Uint8Array, info: CallInfo): Promise<void> | undefined;
  /** Where completion frames (FrameKind.Completion) go, as the link reads them. */
  onCompletions(sink: (frame: Uint8Array) => void): void;
  /** Reads what the host has written so far and delivers it to the sink; never crosses. */
  reap(): void;
  /**
   * Resolves once the host has written something new, after `timeoutMs`, or on abort. The link
   * looks for a short while, then sleeps and says so: only then does the host ring. `wakeAfter`
   * (default 1) moderates that ring, as a NIC moderates its interrupts: a link that sleeps asks
   * the host to ring only once that many more completions are in, so a guest with many posts in
   * flight costs the host one ring per batch, not one per completion. Pass no more than the
   * completions sure to come (those of the posts in flight), or the wait lasts until the link's
   * sleep times out.
   */
  awaitCompletions(timeoutMs: number, signal?: AbortSignal, wakeAfter?: number): Promise<void>;
}

/**
 * Carries one request frame to a dispatcher and brings back its reply frame. Links are the
 * seam between the spec-derived stub and a transport: loopback, shm ring, virtqueue, or a
 * router that picks one per plane.
 */
export interface Link {
  call(request: Uint8Array, info: CallInfo): Promise<Uint8Array>;
}

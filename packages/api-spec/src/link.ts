import type { CompiledFunction } from './define-api.js';

/** What a link is told about a call besides its bytes. */
export interface CallInfo {
  readonly fn: CompiledFunction;
  readonly callId: number;
  readonly signal?: AbortSignal;
}

/**
 * Carries one request frame to a dispatcher and brings back its reply frame. Links are the
 * seam between the spec-derived stub and a transport: loopback, shm ring, virtqueue, or a
 * router that picks one per plane.
 */
export interface Link {
  call(request: Uint8Array, info: CallInfo): Promise<Uint8Array>;
}

import type { VrdmaError } from './errors.js';
import type { Link, QueueLink } from './link.js';

/** Counters every transport keeps; a doorbell stands for a VM exit, so each one is counted. */
export interface TransportMetrics {
  /** Requests sent (guest side) or served (host side). */
  readonly messages: number;
  /** Doorbells rung towards the peer: kicks (guest to host) or interrupts (host to guest). */
  readonly doorbells: number;
}

/**
 * The guest side of a transport: a link (request frame in, reply frame out, replies matched
 * to calls by the call id in the frame header, many calls in flight), plus its lifecycle.
 */
export interface ClientTransport extends Link {
  readonly metrics: TransportMetrics;
  /** Present on transports with a submission ring and a completion ring (see QueueLink). */
  readonly queues?: QueueLink;
  /** Fires once when the host is gone; every pending call has then failed with DISCONNECTED. */
  onDisconnect(listener: (reason: VrdmaError) => void): void;
  close(): Promise<void>;
}

/**
 * Serves one request frame: returns (or resolves to) its reply frame, or NO_REPLY for a posted
 * call. Never throws.
 */
export type FrameHandler = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** What a handler returns for a posted call: the transport sends nothing back. */
export const NO_REPLY: Uint8Array = new Uint8Array(0);

/** The host side of one guest's transport. */
export interface ServerTransport {
  readonly metrics: TransportMetrics;
  /** Starts delivering requests to `handler`; replies may be sent in any order. */
  serve(handler: FrameHandler): void;
  /**
   * Present on transports with a completion ring: writes a frame the guest did not ask for
   * (FrameKind.Completion); resolves once it is in the ring. A ring the guest does not drain
   * holds the promise: the caller waits, it does not pile frames up. `entries` is how many
   * completions the frame carries (default 1): a guest that sleeps may ask to be woken only once
   * enough of them are in (see QueueLink.awaitCompletions).
   */
  push?(frame: Uint8Array, entries?: number): Promise<void>;
  /** With `push`: the largest frame it takes (a ring slot); larger frames are refused. */
  readonly maxPushFrame?: number;
  /**
   * Present on polled transports: while `busy()` says the guest is sure to send more soon (its
   * posted calls are still in the engine), keep looking at the ring instead of sleeping.
   */
  whileBusy?(busy: () => boolean): void;
  /** Fires once when the guest is gone: detached, crashed, or stopped answering. */
  onDisconnect(listener: (reason: VrdmaError) => void): void;
  close(): Promise<void>;
}

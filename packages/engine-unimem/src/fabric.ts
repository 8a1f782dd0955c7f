/**
 * How a node reaches the memory of the cluster: its own and in-process nodes directly, other
 * processes or hosts through a link. The DMA engine sees only this.
 */

/**
 * Why a remote side refused a transfer, or failed it. A wrong key and a wrong range are one
 * failure, 'no-permission', so that a caller cannot find a key first and its range after.
 */
export type RemoteFailure = 'no-permission' | 'node-down';

/** The owner's consent to one transfer: the bytes it may touch, held until released. */
export type Admission =
  | { ok: true; view: Uint8Array; release(): void }
  | { ok: false; status: RemoteFailure };

/** A node whose memory this process holds: the DMA engine copies into it directly. */
export interface MemoryOwner {
  readonly node: number;
  readonly up: boolean;
  /** The key check, done by the owner: `length` bytes at `nodeOffset` for `wanted` access. */
  admit(key: number, nodeOffset: bigint, length: number, wanted: 'read' | 'write'): Admission;
}

/** One transfer handed to a link: the link moves the bytes and reports how it ended. */
export interface LinkOperation {
  kind: 'write' | 'read';
  key: number;
  /** The global address of the remote side. */
  address: bigint;
  /** The local bytes: read from (write) or written into (read), in place. */
  local: Uint8Array;
  /** Called once with the outcome, unless the operation was canceled first. */
  done(status: 'ok' | RemoteFailure): void;
  /** Called once when the link no longer touches `local` (after `done`, or after a cancel). */
  released(): void;
}

/** A way to another process's node (the TCP fabric). */
export interface RemoteLink {
  readonly up: boolean;
  /** Starts the operation; the returned function cancels it. */
  start(operation: LinkOperation): () => void;
}

export type Route = { kind: 'memory'; owner: MemoryOwner } | { kind: 'link'; link: RemoteLink };

export interface Fabric {
  /** Every node of the cluster, reachable now or not. */
  members(): readonly number[];
  isUp(node: number): boolean;
  /** How to reach `node`; undefined when it is not a member of the cluster. */
  route(node: number): Route | undefined;
}

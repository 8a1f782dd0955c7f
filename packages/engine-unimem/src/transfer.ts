import type { CompletionStatus } from '@vrdma/unimem-api';
import type { BufferRecord } from './buffer-record.js';
import type { DmaChannel } from './dma-channel.js';
import type { Admission, MemoryOwner } from './fabric.js';

/**
 * One descriptor of a DMA channel, from queueing to reaping. `state` only moves forward:
 * queued (in the channel, untouched) → active (the engine is moving it) → done.
 */
export class Transfer {
  state: 'queued' | 'active' | 'done' = 'queued';
  status: CompletionStatus = 'ok';
  /** Bytes copied so far (memory routes). */
  moved = 0;
  /** The remote side, while a memory transfer is active. */
  target: Extract<Admission, { ok: true }> | undefined;
  /** The node that owns the remote side, while a memory transfer is active. */
  owner: MemoryOwner | undefined;
  /** Set before a link starts carrying it: the link then owns the release of the local bytes. */
  viaLink = false;
  /** Cancels a transfer a link is carrying. */
  cancelLink: (() => void) | undefined;
  private localHeld = true;

  constructor(
    readonly channel: DmaChannel,
    readonly id: number,
    readonly kind: 'write' | 'read',
    readonly fence: boolean,
    readonly local: BufferRecord,
    readonly localView: Uint8Array,
    readonly remote: bigint,
    readonly key: number,
  ) {
    local.hold();
  }

  get length(): number {
    return this.localView.length;
  }

  get bytes(): number {
    return this.status === 'ok' ? this.length : 0;
  }

  /** Lets go of the local buffer, once: after this the engine no longer touches its bytes. */
  releaseLocal(): void {
    if (!this.localHeld) return;
    this.localHeld = false;
    this.local.unhold();
  }

  /** Lets go of the remote side's consent, once. */
  releaseTarget(): void {
    const target = this.target;
    this.target = undefined;
    target?.release();
  }
}

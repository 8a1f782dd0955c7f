import type { Completion, CompletionStatus } from '@vrdma/unimem-api';
import type { BufferRecord } from './buffer-record.js';

/** One write or read, from the call that queued it to the completion the caller reaps. */
export class Transfer {
  completion: Completion | undefined;
  /** Set while libfabric holds it: the id its completion comes back with. */
  op: number | undefined;
  /** Handed to the node (posted, or ended by a check); a fenced one waits until then. */
  started = false;
  private held = true;

  constructor(
    readonly id: number,
    readonly kind: 'write' | 'read',
    readonly fence: boolean,
    readonly buffer: BufferRecord,
    readonly local: Uint8Array,
    readonly node: number,
    readonly remoteOffset: number,
    readonly registrationKey: number,
    private readonly onFinish: (transfer: Transfer) => void,
  ) {
    buffer.hold();
  }

  get finished(): boolean {
    return this.completion !== undefined;
  }

  /** Ends the transfer once; later outcomes (a late libfabric completion) are ignored. */
  finish(status: CompletionStatus): void {
    if (this.completion) return;
    this.completion = {
      transfer: this.id,
      status,
      bytes: status === 'ok' ? this.local.length : 0,
    };
    this.onFinish(this);
  }

  /** Lets the buffer go: libfabric is done with the local bytes (or never had them). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.buffer.unhold();
  }
}

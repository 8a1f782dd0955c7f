import { VrdmaError } from '@vrdma/api-spec';

/** The part of a byte stream (a UNIX socket) doorbells travel on. */
export interface DoorbellStream {
  write(chunk: Uint8Array): unknown;
  readonly destroyed?: boolean;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * Several doorbells on one byte stream: each ring is one byte whose value names the doorbell
 * (say 1 for the control plane, 2 for the data plane). Bytes of no known doorbell are counted
 * and dropped: a peer cannot make a ring out of them.
 */
export class DoorbellMux {
  private readonly listeners = new Map<number, Set<() => void>>();
  private readonly closeListeners = new Set<() => void>();
  private closed = false;
  /** Bytes received that named no doorbell. */
  unknown = 0;

  constructor(
    private readonly stream: DoorbellStream,
    codes: readonly number[],
  ) {
    for (const code of codes) {
      if (!Number.isInteger(code) || code < 0 || code > 255)
        throw new VrdmaError('INVALID_ARGUMENT', `doorbell code ${code} is not a byte`);
      this.listeners.set(code, new Set());
    }
    stream.on('data', (chunk) => {
      for (const byte of chunk) {
        const listeners = this.listeners.get(byte);
        if (!listeners) this.unknown++;
        else for (const listener of listeners) listener();
      }
    });
    stream.on('close', () => {
      this.closed = true;
      for (const listener of this.closeListeners) listener();
    });
  }

  /** Rings doorbell `code` at the peer; false when the stream is gone. */
  ring(code: number): boolean {
    if (this.closed || this.stream.destroyed) return false;
    this.stream.write(Uint8Array.of(code));
    return true;
  }

  /** Calls `listener` for every ring of `code` from the peer; returns how to stop. */
  onRing(code: number, listener: () => void): () => void {
    const listeners = this.listeners.get(code);
    if (!listeners)
      throw new VrdmaError('INVALID_ARGUMENT', `doorbell ${code} is not on this stream`);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Calls `listener` once the stream closes (at once if it has); returns how to stop. */
  onClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }
}

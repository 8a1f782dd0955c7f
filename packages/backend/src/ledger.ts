/** What one guest holds on the host; all of it is released when the guest goes. */
export interface LedgerSnapshot {
  buffers: number;
  bytes: number;
  channels: number;
  keys: number;
  inflight: number;
}

export class Ledger {
  /** Buffer handle → its size and the keys that export it. */
  readonly buffers = new Map<number, { size: number; keys: Set<number> }>();
  /** Channel handle → transfers queued or completed but not reaped. */
  readonly channels = new Map<number, number>();
  readonly keys = new Map<number, number>();
  bytes = 0;

  get inflight(): number {
    let total = 0;
    for (const n of this.channels.values()) total += n;
    return total;
  }

  addBuffer(handle: number, size: number): void {
    this.buffers.set(handle, { size, keys: new Set() });
    this.bytes += size;
  }

  removeBuffer(handle: number): void {
    const buffer = this.buffers.get(handle);
    if (!buffer) return;
    for (const key of buffer.keys) this.keys.delete(key);
    this.bytes -= buffer.size;
    this.buffers.delete(handle);
  }

  addKey(key: number, buffer: number): void {
    this.keys.set(key, buffer);
    this.buffers.get(buffer)?.keys.add(key);
  }

  removeKey(key: number): void {
    const buffer = this.keys.get(key);
    if (buffer !== undefined) this.buffers.get(buffer)?.keys.delete(key);
    this.keys.delete(key);
  }

  clear(): void {
    this.buffers.clear();
    this.channels.clear();
    this.keys.clear();
    this.bytes = 0;
  }

  snapshot(): LedgerSnapshot {
    return {
      buffers: this.buffers.size,
      bytes: this.bytes,
      channels: this.channels.size,
      keys: this.keys.size,
      inflight: this.inflight,
    };
  }
}

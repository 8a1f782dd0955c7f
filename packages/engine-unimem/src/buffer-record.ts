import type { Region } from '@vrdma/api-spec';

export type Access = 'read' | 'write' | 'read-write';

/**
 * A registered (pinned) buffer as the engine records it, in engine memory, never in the
 * shared region. `holds` counts the transfers that may still touch its bytes, local side or
 * remote side: while any exist the memory must not be handed out again.
 */
export class BufferRecord {
  readonly keys = new Set<number>();
  private holds = 0;
  private released = false;
  private onIdle: (() => void) | undefined;

  constructor(
    readonly handle: number,
    readonly region: Region,
    readonly offset: number,
    readonly size: number,
    /** Node offset of its first byte in the global address space. */
    readonly nodeOffset: number,
  ) {}

  get busy(): boolean {
    return this.holds > 0;
  }

  /** The buffer's bytes, in the region itself. */
  get bytes(): Uint8Array {
    return this.region.bytes.subarray(this.offset, this.offset + this.size);
  }

  hold(): void {
    this.holds += 1;
  }

  unhold(): void {
    this.holds -= 1;
    if (this.holds === 0 && this.onIdle) {
      const idle = this.onIdle;
      this.onIdle = undefined;
      idle();
    }
  }

  /** Runs `release` now, or once the last transfer lets go (a closed session's buffers). */
  releaseWhenIdle(release: () => void): void {
    if (this.released) return;
    this.released = true;
    if (this.holds === 0) release();
    else this.onIdle = release;
  }
}

export function grants(access: Access, wanted: 'read' | 'write'): boolean {
  return access === 'read-write' || access === wanted;
}

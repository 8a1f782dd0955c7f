import type { Region } from '@vrdma/api-spec';

/** One allocated buffer: where it lives, its slot, the keys exporting it, who is using it. */
export class BufferRecord {
  readonly keys = new Set<number>();
  private holds = 0;
  private onIdle: (() => void) | undefined;

  constructor(
    readonly handle: number,
    readonly region: Region,
    readonly offset: number,
    readonly size: number,
    readonly slot: number,
  ) {}

  get bytes(): Uint8Array {
    return this.region.bytes.subarray(this.offset, this.offset + this.size);
  }

  get busy(): boolean {
    return this.holds > 0;
  }

  /** Taken while libfabric may read or write this buffer for a local transfer. */
  hold(): void {
    this.holds += 1;
  }

  unhold(): void {
    this.holds -= 1;
    if (this.holds === 0 && this.onIdle) {
      const run = this.onIdle;
      this.onIdle = undefined;
      run();
    }
  }

  /** Runs `release` now, or once the last transfer using the buffer finished. */
  releaseWhenIdle(release: () => void): void {
    if (this.holds === 0) release();
    else this.onIdle = release;
  }
}

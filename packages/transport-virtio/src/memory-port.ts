/**
 * How the device side reaches memory that it cannot map directly. With a SharedArrayBuffer or
 * an mmap'd region there is no port: loads and stores are the sharing. With a port, the
 * region's bytes are a local copy that `acquire` refreshes from the shared memory and `release`
 * publishes back, write by write, in the order the device made them (payload and used
 * elements before the used index), so the driver never sees an index before its data.
 */
export interface MemoryPort {
  /** Makes the driver's latest writes visible in the region's bytes. */
  acquire(): void;
  /**
   * Publishes this side's writes to the peer, in the order made; a range written more than
   * once goes out at its last place only (its bytes are read now, with their latest value).
   */
  release(writes: ReadonlyArray<readonly [at: number, length: number]>): void;
}

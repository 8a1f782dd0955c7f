/**
 * Memory shared between a guest, the host and the engine. `bytes` spans the whole region;
 * every view of a buffer in it is a subarray of `bytes`: the same memory, never a copy.
 */
export interface Region {
  /** Stable id; buffer references name it. */
  readonly id: number;
  readonly size: number;
  readonly bytes: Uint8Array;
}

/** The bytes of `length` at `offset` in `region`, bounds-checked (RangeError if outside). */
export function regionView(region: Region, offset: number, length: number): Uint8Array {
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > region.size
  ) {
    throw new RangeError(
      `[${offset}, +${length}) is outside region ${region.id} of ${region.size} bytes`,
    );
  }
  return region.bytes.subarray(offset, offset + length);
}

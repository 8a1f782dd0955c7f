/** One buffer of a chain: `addr` is an offset into the shared region. */
export interface Segment {
  readonly addr: number;
  readonly len: number;
}

/**
 * A validated descriptor chain as the device sees it: every segment lies inside the region,
 * device-readable ones first, then device-writable ones.
 */
export interface DescriptorChain {
  readonly head: number;
  readonly readable: readonly Segment[];
  readonly writable: readonly Segment[];
  readonly readableBytes: number;
  readonly writableBytes: number;
}

/** A copy of the chain's device-readable bytes (a copy: the driver may rewrite them meanwhile). */
export function gatherReadable(bytes: Uint8Array, chain: DescriptorChain): Uint8Array {
  const out = new Uint8Array(chain.readableBytes);
  let at = 0;
  for (const { addr, len } of chain.readable) {
    out.set(bytes.subarray(addr, addr + len), at);
    at += len;
  }
  return out;
}

/** Scatters `data` over the chain's device-writable buffers; returns the bytes written. */
export function scatterWritable(
  bytes: Uint8Array,
  chain: DescriptorChain,
  data: Uint8Array,
): number {
  let written = 0;
  for (const { addr, len } of chain.writable) {
    if (written >= data.length) break;
    const part = Math.min(len, data.length - written);
    bytes.set(data.subarray(written, written + part), addr);
    written += part;
  }
  return written;
}

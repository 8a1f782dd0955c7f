import { z } from 'zod';

/**
 * A Unimem global address: node id in the top 16 bits, byte offset inside that node in the
 * low 48 bits. A bigint, so no address ever loses precision to a float.
 */
export type GlobalAddress = bigint & z.$brand<'GlobalAddress'>;

export const GLOBAL_ADDRESS_OFFSET_BITS = 48n;
export const MAX_NODE_ID = 0xffff;
export const MAX_NODE_OFFSET = (1n << GLOBAL_ADDRESS_OFFSET_BITS) - 1n;

/** The schema of a global address: an unsigned 64-bit bigint, 8 bytes in a fixed layout. */
export function globalAddress() {
  return z
    .bigint()
    .min(0n)
    .max((1n << 64n) - 1n)
    .brand<'GlobalAddress', 'inout'>();
}

/** Builds a global address from a node id and an offset inside that node. */
export function makeGlobalAddress(node: number, offset: bigint | number): GlobalAddress {
  const off = BigInt(offset);
  if (!Number.isInteger(node) || node < 0 || node > MAX_NODE_ID) {
    throw new RangeError(`node id ${node} is outside 0..${MAX_NODE_ID}`);
  }
  if (off < 0n || off > MAX_NODE_OFFSET) {
    throw new RangeError(`node offset ${off} is outside 0..2^48-1`);
  }
  return ((BigInt(node) << GLOBAL_ADDRESS_OFFSET_BITS) | off) as GlobalAddress;
}

/** The node id part of a global address. */
export function nodeOf(address: GlobalAddress | bigint): number {
  return Number(address >> GLOBAL_ADDRESS_OFFSET_BITS);
}

/** The byte offset part of a global address, inside its node. */
export function nodeOffsetOf(address: GlobalAddress | bigint): bigint {
  return address & MAX_NODE_OFFSET;
}

/** `address + delta`, staying inside the same node (throws past the node's end). */
export function offsetAddress(address: GlobalAddress, delta: number | bigint): GlobalAddress {
  return makeGlobalAddress(nodeOf(address), nodeOffsetOf(address) + BigInt(delta));
}

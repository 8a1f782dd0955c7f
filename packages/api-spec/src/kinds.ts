import { z } from 'zod';

/**
 * Special argument kinds. They are ordinary zod schemas tagged in `kindRegistry`, so the
 * spec walker can give them their wire layout and the host its ownership checks.
 */
export type KindMeta =
  | { kind: 'handle'; of: string }
  | { kind: 'buffer-ref' }
  | { kind: 'global-address' }
  | { kind: 'bytes'; maxLength?: number };

export const kindRegistry = z.registry<KindMeta>();

/** Largest handle value: handles travel as unsigned 32-bit integers; 0 is never a handle. */
export const MAX_HANDLE = 0xffff_ffff;

/** An opaque handle to an object of kind `Of`, minted by the host for one guest. */
export type Handle<Of extends string> = number & z.$brand<Of>;

/**
 * A typed opaque handle. Handles of different kinds do not mix at compile time; at run time
 * the host checks that the handle belongs to the calling guest.
 */
export function handle<const Of extends string>(of: Of) {
  const schema = z.number().int().min(1).max(MAX_HANDLE).brand<Of, 'inout'>();
  kindRegistry.add(schema, { kind: 'handle', of });
  return schema;
}

/** Largest region offset or length a buffer reference may name (2^48 - 1). */
export const MAX_REGION_BYTES = 2 ** 48 - 1;

/**
 * A reference to `length` bytes at `offset` inside shared region `region`: the zero-copy
 * path. The host resolves it only against the calling guest's own regions.
 */
export interface BufferRef {
  region: number;
  offset: number;
  length: number;
}

export function bufferRef() {
  const schema = z.object({
    region: z.number().int().min(0).max(0xffff_ffff),
    offset: z.number().int().min(0).max(MAX_REGION_BYTES),
    length: z.number().int().min(0).max(0xffff_ffff),
  });
  kindRegistry.add(schema, { kind: 'buffer-ref' });
  return schema;
}

/**
 * A Unimem global address: node id in the top 16 bits, byte offset inside that node in the
 * low 48 bits. A bigint, so no address ever loses precision to a float.
 */
export type GlobalAddress = bigint & z.$brand<'GlobalAddress'>;

export const GLOBAL_ADDRESS_OFFSET_BITS = 48n;
export const MAX_NODE_ID = 0xffff;
export const MAX_NODE_OFFSET = (1n << GLOBAL_ADDRESS_OFFSET_BITS) - 1n;

export function globalAddress() {
  const schema = z
    .bigint()
    .min(0n)
    .max((1n << 64n) - 1n)
    .brand<'GlobalAddress', 'inout'>();
  kindRegistry.add(schema, { kind: 'global-address' });
  return schema;
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

/** Raw bytes (a Uint8Array) on the control plane, at most `maxLength` of them. */
export function bytes(maxLength?: number) {
  const schema = z.custom<Uint8Array>(
    (value) =>
      value instanceof Uint8Array && (maxLength === undefined || value.length <= maxLength),
    { message: maxLength === undefined ? 'expected bytes' : `expected at most ${maxLength} bytes` },
  );
  kindRegistry.add(
    schema,
    maxLength === undefined ? { kind: 'bytes' } : { kind: 'bytes', maxLength },
  );
  return schema;
}

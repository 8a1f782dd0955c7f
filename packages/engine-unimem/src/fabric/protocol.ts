import type { RemoteFailure } from '../fabric.js';

/**
 * The fabric's wire format. Every message starts with a 32-byte little-endian header:
 *
 *   0  u8   type
 *   1  u8   status    (WRITE_DONE, READ_DONE; HELLO: protocol version)
 *   2  u16  node      (HELLO: the sender's node id)
 *   4  u32  request   (request id, chosen by the initiator, unique per connection)
 *   8  u64  key       (WRITE, READ: the exported key, 53 bits; HELLO: the magic "UNIM")
 *  16  u32  length    (WRITE, READ: bytes of the transfer; *_DATA, HELLO, PROOF: bytes of
 *                      payload that follow)
 *  20  u32  (zero)
 *  24  u64  address   (WRITE, READ: global address; *_DATA: offset of the payload in the transfer)
 *
 * WRITE_DATA, READ_DATA, HELLO and PROOF carry a payload. A connection starts with the
 * handshake that authenticates both nodes (HELLO both ways, then PROOF; see handshake.ts), and
 * nothing else is accepted before it ends. It then carries requests one way: the node that
 * dialled sends WRITE, WRITE_DATA, READ and ABORT; the node that accepted answers with
 * WRITE_DONE, READ_DATA and READ_DONE. Segments of concurrent transfers interleave.
 *
 * Version 2 added the handshake's nonces and proofs, version 3 widened the key to 64 bits (keys
 * are 53); a peer of another version is refused at HELLO.
 */
export const HEADER_SIZE = 32;
export const PROTOCOL_MAGIC = 0x4d49_4e55; // "UNIM" read as little-endian u32
export const PROTOCOL_VERSION = 3;

export const MessageType = {
  HELLO: 1,
  WRITE: 2,
  WRITE_DATA: 3,
  WRITE_DONE: 4,
  READ: 5,
  READ_DATA: 6,
  READ_DONE: 7,
  ABORT: 8,
  /** The dialer's proof that it holds the cluster's secret (handshake, last step). */
  PROOF: 9,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

// Code 2 was 'out-of-range': a wrong range now ends as a wrong key, 'no-permission'; the code
// stays unused so that 'node-down' keeps its number.
const STATUS_CODES = ['ok', 'no-permission', undefined, 'node-down'] as const;
export type WireStatus = 'ok' | RemoteFailure;

export function statusCode(status: WireStatus): number {
  return STATUS_CODES.indexOf(status);
}

/** The status a code names; undefined for a code this version does not know. */
export function statusOf(code: number): WireStatus | undefined {
  return STATUS_CODES[code];
}

export interface Header {
  type: number;
  status: number;
  node: number;
  request: number;
  key: number;
  length: number;
  address: bigint;
}

export function encodeHeader(header: Partial<Header> & { type: MessageType }): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE);
  out.writeUInt8(header.type, 0);
  out.writeUInt8(header.status ?? 0, 1);
  out.writeUInt16LE(header.node ?? 0, 2);
  out.writeUInt32LE(header.request ?? 0, 4);
  out.writeBigUInt64LE(BigInt(header.key ?? 0), 8);
  out.writeUInt32LE(header.length ?? 0, 16);
  out.writeUInt32LE(0, 20);
  out.writeBigUInt64LE(header.address ?? 0n, 24);
  return out;
}

export function decodeHeader(bytes: Uint8Array): Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  return {
    type: view.getUint8(0),
    status: view.getUint8(1),
    node: view.getUint16(2, true),
    request: view.getUint32(4, true),
    key: keyOf(view.getBigUint64(8, true)),
    length: view.getUint32(16, true),
    address: view.getBigUint64(24, true),
  };
}

/** A key field as a number; one wider than any key (53 bits) becomes 0, which is never a key. */
function keyOf(field: bigint): number {
  return field > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(field);
}

export function carriesPayload(type: number): boolean {
  return (
    type === MessageType.WRITE_DATA ||
    type === MessageType.READ_DATA ||
    type === MessageType.HELLO ||
    type === MessageType.PROOF
  );
}

/** A peer broke the protocol: the connection is dropped, the node treated as down. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

import { VrdmaError } from './errors.js';

/**
 * Every message is a frame: a 12-byte little-endian header, then the payload.
 *
 *   0  u8   version (FRAME_VERSION)
 *   1  u8   kind (FrameKind)
 *   2  u16  function id
 *   4  u32  call id
 *   8  u32  spec fingerprint, first 32 bits
 *  12  ...  payload: msgpack (control plane, errors) or a fixed-layout record (data plane)
 */
export const FRAME_VERSION = 1;
export const FRAME_HEADER_SIZE = 12;

export const FrameKind = {
  Request: 1,
  Result: 2,
  Error: 3,
  /** A posted request: no reply; how it ended comes back in its completion queue. */
  Post: 4,
  /** Completions the host wrote unasked: function id of the queue's poll, call id the queue's handle. */
  Completion: 5,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface FrameHeader {
  kind: FrameKind;
  fnId: number;
  callId: number;
  fingerprint32: number;
}

export interface Frame extends FrameHeader {
  payload: Uint8Array;
}

export function writeFrameHeader(view: DataView, at: number, header: FrameHeader): void {
  view.setUint8(at, FRAME_VERSION);
  view.setUint8(at + 1, header.kind);
  view.setUint16(at + 2, header.fnId, true);
  view.setUint32(at + 4, header.callId, true);
  view.setUint32(at + 8, header.fingerprint32, true);
}

/** Builds a frame around a payload (one allocation, one copy of the payload). */
export function encodeFrame(header: FrameHeader, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(new DataView(bytes.buffer), 0, header);
  bytes.set(payload, FRAME_HEADER_SIZE);
  return bytes;
}

/** Reads a frame; a short or unknown header is MALFORMED_FRAME. The payload is a view, not a copy. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (!(bytes instanceof Uint8Array))
    throw new VrdmaError('MALFORMED_FRAME', 'a frame must be bytes');
  if (bytes.length < FRAME_HEADER_SIZE) {
    throw new VrdmaError(
      'MALFORMED_FRAME',
      `frame of ${bytes.length} bytes is shorter than its header`,
    );
  }
  // The header is read from the bytes themselves (little-endian): a DataView per frame is an
  // allocation on every call of the data plane.
  const version = bytes[0]!;
  if (version !== FRAME_VERSION) {
    throw new VrdmaError('MALFORMED_FRAME', `frame version ${version}, expected ${FRAME_VERSION}`);
  }
  const kind = bytes[1]!;
  if (kind < FrameKind.Request || kind > FrameKind.Completion) {
    throw new VrdmaError('MALFORMED_FRAME', `unknown frame kind ${kind}`);
  }
  return {
    kind: kind as FrameKind,
    fnId: bytes[2]! | (bytes[3]! << 8),
    callId: readUint32(bytes, 4),
    fingerprint32: readUint32(bytes, 8),
    payload: bytes.subarray(FRAME_HEADER_SIZE),
  };
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

/**
 * The ids and fingerprint of a frame, read without decoding it (for routing, or to address an
 * error reply to a frame too broken to decode); undefined when even the header is missing.
 */
export function peekFrameHeader(bytes: Uint8Array): Omit<FrameHeader, 'kind'> | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < FRAME_HEADER_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    fnId: view.getUint16(2, true),
    callId: view.getUint32(4, true),
    fingerprint32: view.getUint32(8, true),
  };
}

/** The kind byte of a frame, read without decoding it; undefined when the header is missing. */
export function peekFrameKind(bytes: Uint8Array): number | undefined {
  return bytes instanceof Uint8Array && bytes.length >= FRAME_HEADER_SIZE ? bytes[1] : undefined;
}

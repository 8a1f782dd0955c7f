import { FRAME_HEADER_SIZE, FrameKind, writeFrameHeader } from '@vrdma/api-spec';

const encoder = new TextEncoder();
const MAX_MESSAGE_BYTES = 200;

function msgpackString(text: string): Uint8Array {
  const utf8 = encoder.encode(text).subarray(0, MAX_MESSAGE_BYTES);
  const head = utf8.length < 32 ? [0xa0 | utf8.length] : [0xd9, utf8.length];
  return Uint8Array.of(...head, ...utf8);
}

/**
 * An error reply the transport itself must produce (a reply too large for a slot, a handler
 * that broke its never-throw contract), for the call named in `request`'s header. The
 * payload is a plain msgpack map {code, message}: what every codec's decodeError reads.
 * The message is shortened until the frame fits `maxSize` (a ring slot); if even an empty
 * message does not fit, the frame is the bare header (the caller then sees MALFORMED_FRAME).
 */
export function transportErrorFrame(
  request: Uint8Array,
  code: string,
  message: string,
  maxSize = Number.POSITIVE_INFINITY,
): Uint8Array {
  for (let text = message; ; text = text.slice(0, Math.floor(text.length / 2))) {
    const frame = errorFrame(request, code, text);
    if (frame.length <= maxSize) return frame;
    if (text.length === 0) return frame.subarray(0, FRAME_HEADER_SIZE);
  }
}

function errorFrame(request: Uint8Array, code: string, message: string): Uint8Array {
  const header = new DataView(request.buffer, request.byteOffset, request.byteLength);
  const known = request.length >= FRAME_HEADER_SIZE;
  const parts = [
    Uint8Array.of(0x82),
    msgpackString('code'),
    msgpackString(code),
    msgpackString('message'),
    msgpackString(message),
  ];
  const payloadSize = parts.reduce((n, p) => n + p.length, 0);
  const frame = new Uint8Array(FRAME_HEADER_SIZE + payloadSize);
  writeFrameHeader(new DataView(frame.buffer), 0, {
    kind: FrameKind.Error,
    fnId: known ? header.getUint16(2, true) : 0,
    callId: known ? header.getUint32(4, true) : 0,
    fingerprint32: known ? header.getUint32(8, true) : 0,
  });
  let at = FRAME_HEADER_SIZE;
  for (const part of parts) {
    frame.set(part, at);
    at += part.length;
  }
  return frame;
}

import { FRAME_HEADER_SIZE, FrameKind, writeFrameHeader } from '@vrdma/api-spec';

const encoder = new TextEncoder();

function msgpackString(text: string): Uint8Array {
  const utf8 = encoder.encode(text.slice(0, 200));
  const head = utf8.length < 32 ? [0xa0 | utf8.length] : [0xd9, utf8.length];
  return Uint8Array.of(...head, ...utf8);
}

/**
 * An error reply the transport itself must produce (a reply too large for a slot, a handler
 * that broke its never-throw contract), for the call named in `request`'s header. The
 * payload is a plain msgpack map {code, message}: what every codec's decodeError reads.
 */
export function transportErrorFrame(
  request: Uint8Array,
  code: string,
  message: string,
): Uint8Array {
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

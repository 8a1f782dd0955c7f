import { FRAME_HEADER_SIZE, type FrameKind, writeFrameHeader } from '@vrdma/api-spec';

/** Test frames: a header and a payload of u32 words. */
export function testFrame(kind: FrameKind, callId: number, words: number[]): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_SIZE + 4 * words.length);
  const view = new DataView(bytes.buffer);
  writeFrameHeader(view, 0, { kind, fnId: 1, callId, fingerprint32: 0xfeed });
  words.forEach((word, i) => {
    view.setUint32(FRAME_HEADER_SIZE + 4 * i, word, true);
  });
  return bytes;
}

export function frameWords(frame: Uint8Array): number[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const words: number[] = [];
  for (let at = FRAME_HEADER_SIZE; at + 4 <= frame.length; at += 4)
    words.push(view.getUint32(at, true));
  return words;
}

export function frameCallId(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4, true);
}

/** Opcodes of the test protocol (first payload word). */
export const Op = {
  /** Reply with the second word plus one. */
  Increment: 1,
  /** Never reply (a call left in flight). */
  Hang: 2,
  /** Words 1..3: a buffer reference. Host checks the guest's pattern, writes its own. */
  ZeroCopy: 3,
} as const;

/** Byte i of a pattern seeded by `seed`. */
export function patternByte(seed: number, i: number): number {
  return (seed * 31 + i * 7 + (i >> 8)) & 0xff;
}

export function fillPattern(bytes: Uint8Array, seed: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = patternByte(seed, i);
}

export function hasPattern(bytes: Uint8Array, seed: number): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== patternByte(seed, i)) return false;
  return true;
}

export const GUEST_SEED = 11;
export const HOST_SEED = 97;

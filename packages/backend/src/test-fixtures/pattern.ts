/** Fills `bytes` with a pattern that differs with `seed`: what guests write and tests check. */
export function fillPattern(bytes: Uint8Array, seed: number): Uint8Array {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 1 + seed * 13) & 0xff;
  return bytes;
}

/** The pattern of `length` bytes for `seed`, as a fresh array. */
export function patternOf(length: number, seed: number): Uint8Array {
  return fillPattern(new Uint8Array(length), seed);
}

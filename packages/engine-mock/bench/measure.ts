/** Median nanoseconds per operation of `op`, over `rounds` rounds of `perRound` operations. */
export async function nsPerOp(op: () => unknown, perRound: number, rounds = 7): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) {
      const result = op();
      if (result instanceof Promise) await result;
    }
    samples.push(Number(process.hrtime.bigint() - start) / perRound);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** Runs `a` and `b` alternately (warm-up first), so both see the same machine noise. */
export async function sideBySide(
  a: () => unknown,
  b: () => unknown,
  perRound: number,
): Promise<{ a: number; b: number; ratio: number }> {
  await nsPerOp(a, perRound, 2);
  await nsPerOp(b, perRound, 2);
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < 5; i++) {
    as.push(await nsPerOp(a, perRound, 3));
    bs.push(await nsPerOp(b, perRound, 3));
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ma = median(as);
  const mb = median(bs);
  return { a: ma, b: mb, ratio: mb / ma };
}

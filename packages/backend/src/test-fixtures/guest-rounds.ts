import { createInterface } from 'node:readline';

/**
 * The life of a fixture guest process: round 0 at once, one more round for each line on
 * stdin, each printing one JSON line; when stdin closes, `leave` and exit 0. Any failure is
 * printed as `{ "error": ... }` and the process exits 3, so a test sees why.
 */
export function runRounds(
  round: (n: number) => Promise<Record<string, unknown>>,
  leave: () => Promise<void>,
): void {
  let rounds = 0;
  let queue = Promise.resolve();
  const next = () => {
    const n = rounds++;
    // One round at a time, in order, however fast the lines come.
    queue = queue
      .then(async () => {
        process.stdout.write(`${JSON.stringify({ round: n, ...(await round(n)) })}\n`);
      })
      .catch(fail);
  };
  next();
  const lines = createInterface({ input: process.stdin });
  lines.on('line', next);
  lines.on('close', () => {
    queue = queue.then(leave).then(() => process.exit(0), fail);
  });
}

export function fail(error: unknown): never {
  process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
  process.exit(3);
}

// How the boundary test's processes talk to it: JSON lines out on stdout, commands in on stdin.
import { createInterface } from 'node:readline';

/** Tells the test something: one JSON line on stdout. */
export function say(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** The test's commands, one JSON line each, until it closes stdin. */
export async function* commands(): AsyncGenerator<Record<string, unknown>> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== '') yield JSON.parse(line) as Record<string, unknown>;
  }
}

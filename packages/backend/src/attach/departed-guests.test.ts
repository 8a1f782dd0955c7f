import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const HOST = fileURLToPath(new URL('../test-fixtures/departed-guests-host.ts', import.meta.url));
/** How long the host may collect garbage before its mappings must be back: generous. */
const PATIENCE_MS = 60_000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-departed-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the fixture host (with --expose-gc, which a vitest worker lacks); its one JSON line. */
function runHost(guests: number): Promise<Record<string, unknown>> {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      '--conditions=@vrdma/source',
      HOST,
      join(dir, 'host.sock'),
      String(guests),
      String(PATIENCE_MS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      try {
        resolve(JSON.parse(out.split('\n')[0]!));
      } catch {
        reject(new Error(`the host exited (${code}) with ${JSON.stringify(out)}`));
      }
    });
  });
}

describe('process guests that left', () => {
  it(
    'leave no mapping of their memory in the host, though their handles are kept',
    async () => {
      const result = await runHost(20);
      // Memory, virtqueue and ring: each guest's three memfds are mapped while it is attached...
      expect(result.oneGuest).toBe((result.baseline as number) + 3);
      // ...and unmapped once it is gone and the garbage is collected.
      expect(result).toMatchObject({ after: result.baseline });
    },
    PATIENCE_MS * 2,
  );
});

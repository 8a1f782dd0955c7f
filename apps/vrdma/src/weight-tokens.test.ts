import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runCli, startCli, waitForOutput } from './testing/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vrdma-tokens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vrdma host, guest and stats: operator socket and weight tokens', () => {
  it(
    'grants a weight to the guest with the token, refuses a wrong one, and serves stats only to the operator',
    async () => {
      const token = 'e2c9a4f1b07d3856a1c4e7f0b3d6a9c2';
      const tokenFile = join(dir, 'vm.token');
      writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
      const wrongFile = join(dir, 'wrong.token');
      writeFileSync(wrongFile, 'not-the-token\n', { mode: 0o600 });
      const digest = createHash('sha256').update(token).digest('hex');
      const socket = join(dir, 'host.sock');
      const host = startCli(['host', '--socket', socket, '--weight-grant', `${digest}=3`]);
      try {
        await waitForOutput(host, 'listening on');
        const paid = await runCli([
          'guest',
          '--socket',
          socket,
          '--label',
          'paid',
          '--token-file',
          tokenFile,
        ]);
        expect(paid.code, paid.stderr).toBe(0);
        const forger = await runCli([
          'guest',
          '--socket',
          socket,
          '--label',
          'forger',
          '--token-file',
          wrongFile,
        ]);
        expect(forger.code).toBe(3);
        expect(forger.stderr).toMatch(
          /the host refused: the token presented is not one this host grants/,
        );

        const peek = await runCli(['stats', '--socket', socket]);
        expect(peek.code).toBe(3);
        expect(peek.stderr).toMatch(
          /the host refused: stats are served on the host's operator socket only/,
        );
        expect(peek.stdout).toBe('');

        const stats = await runCli(['stats', '--socket', `${socket}.operator`, '--json']);
        expect(stats.code, stats.stderr).toBe(0);
        const snapshot = JSON.parse(stats.stdout) as {
          departed: Array<{ label: string; weight: number }>;
        };
        expect(snapshot.departed.map((g) => [g.label, g.weight])).toEqual([['paid', 3]]);
      } finally {
        host.kill('SIGKILL');
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

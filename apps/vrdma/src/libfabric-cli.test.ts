import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runCli } from './testing/run-cli.js';

describe('vrdma host --engine libfabric', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vrdma-lf-cli-'));
  });
  afterEach(() => {
    delete process.env.VRDMA_LIBFABRIC_ADDON;
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'on a machine without libfabric, fails in one line that names the package to install',
    async () => {
      // The child inherits this: its add-on path names nothing, as where libfabric is missing.
      process.env.VRDMA_LIBFABRIC_ADDON = '../build/Release/not-built.node';
      const run = await runCli([
        'host',
        '--engine',
        'libfabric',
        '--provider',
        'tcp',
        '--socket',
        join(dir, 'host.sock'),
      ]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/^vrdma: [^\n]*apt-get install libfabric-dev[^\n]*\n$/);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'refuses an engine it does not know, saying which it knows',
    async () => {
      const run = await runCli(['host', '--engine', 'rdma', '--socket', join(dir, 'host.sock')]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('expected unimem or libfabric');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

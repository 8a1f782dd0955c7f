import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, execute } from './cli.js';
import type { StatsSnapshot } from './commands/fetch-stats.js';
import { progressBar } from './commands/output.js';
import { formatStats } from './commands/stats.js';

const dir = mkdtempSync(join(tmpdir(), 'vrdma-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `vrdma <args>` in this process: what it printed, and its exit code. */
async function vrdma(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await execute(['node', 'vrdma', ...args], {
    line: (text) => stdout.push(text),
    note: (text) => stderr.push(text),
  });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('vrdma usage errors', () => {
  it('a bad option value is one line with a pointer to --help, exit 2, and no help dump', async () => {
    const run = await vrdma('host', '--nodes', 'abc');
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toBe(
      "vrdma: option '--nodes <n>' argument 'abc' is invalid. expected a positive integer (see --help)",
    );
    expect(run.stdout).toBe('');
  });

  it('an unknown option or command is one line, exit 2', async () => {
    for (const args of [['host', '--frobnicate'], ['frobnicate']]) {
      const run = await vrdma(...args);
      expect(run.code).toBe(EXIT.usage);
      expect(run.stderr.split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^vrdma: unknown (option '--frobnicate'|command 'frobnicate')/);
    }
  });
});

describe('vrdma host --config', () => {
  const socket = join(dir, 'never.sock');
  const host = (config: string) => vrdma('host', '--socket', socket, '--config', config);

  it('a missing file is one line naming it', async () => {
    const missing = join(dir, 'missing.json');
    const run = await host(missing);
    expect(run).toMatchObject({
      code: EXIT.usage,
      stderr: `vrdma: config file ${missing} does not exist`,
    });
  });

  it('a folder is one line naming it', async () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    expect((await host(folder)).stderr).toBe(
      `vrdma: config file ${folder} is a folder, not a file`,
    );
  });

  it('a syntax error names the file', async () => {
    const broken = file('broken.json', '{"host":');
    const run = await host(broken);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(new RegExp(`^vrdma: config file ${broken} is not valid JSON: .+$`));
  });

  it('a bad value is one line naming the file and the key, not a zod dump', async () => {
    const bad = file('bad.json', '{"host":{"leaseMs":"soon"}}');
    const run = await host(bad);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toBe(
      `vrdma: config file ${bad}: host.leaseMs: Invalid input: expected number, received string`,
    );
  });

  it('unknown keys are refused by name at every level, never ignored', async () => {
    const cases = [
      ['{"hosts":{}}', 'unknown key "hosts"'],
      ['{"host":{"leaseMS":10}}', 'unknown key "host.leaseMS"'],
      ['{"engine":{"maxTransfers":10}}', 'unknown key "engine.maxTransfers"'],
      ['{"host":{"quotas":{"bufers":1}}}', 'unknown key "host.quotas.bufers"'],
    ] as const;
    for (const [text, message] of cases) {
      const path = file('unknown.json', text);
      const run = await host(path);
      expect(run.code).toBe(EXIT.usage);
      expect(run.stderr).toBe(`vrdma: config file ${path}: ${message}`);
    }
  });

  it('a cluster file gets the same one-line errors', async () => {
    const cluster = file('cluster.json', '{"nodes":[{"id":0,"port":"x"}]}');
    const run = await vrdma('host', '--socket', socket, '--cluster', cluster, '--node', '0');
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toBe(
      `vrdma: cluster file ${cluster}: nodes.0.port: Invalid input: expected number, received string`,
    );
  });

  it('a valid file is accepted: the command goes on to the socket', async () => {
    const good = file('good.json', '{"host":{"leaseMs":1000},"engine":{"maxTransfer":4096}}');
    const blocker = file('blocker.txt', 'keep me\n');
    const run = await vrdma('host', '--socket', blocker, '--config', good);
    // Past the config: it is the socket path that stops it, and the file there is untouched.
    expect(run.stderr).toBe(`vrdma: ${blocker} exists and is not a socket: refusing to replace it`);
    expect(run.code).toBe(EXIT.failure);
    expect(readFileSync(blocker, 'utf8')).toBe('keep me\n');
  });
});

describe('vrdma host --socket', () => {
  it('a folder at the path is one line, exit 3, and the folder and its files are untouched', async () => {
    const folder = join(dir, 'a-socket-folder');
    mkdirSync(folder);
    writeFileSync(join(folder, 'keep.txt'), 'keep me\n');
    const run = await vrdma('host', '--socket', folder);
    expect(run).toMatchObject({
      code: EXIT.failure,
      stderr: `vrdma: ${folder} exists and is not a socket: refusing to replace it`,
      stdout: '',
    });
    expect(readFileSync(join(folder, 'keep.txt'), 'utf8')).toBe('keep me\n');
  });
});

describe('progress where there is no terminal', () => {
  it('is one line per step, so a long run in a pipe is never silent', () => {
    const written: string[] = [];
    const bar = progressBar(12, { isTTY: false, write: (text: string) => written.push(text) > 0 });
    bar.start('ignored until a step');
    bar.step('native bandwidth 64 B');
    bar.step('remoted bandwidth 64 B');
    bar.finish();
    expect(written).toEqual([
      '[ 1/12] native bandwidth 64 B\n',
      '[ 2/12] remoted bandwidth 64 B\n',
    ]);
  });
});

describe('vrdma stats', () => {
  const guest = (id: number, label: string) => ({
    id,
    label,
    ledger: { held: id === 2 ? { Buffer: 1 } : {} },
    metrics: {
      calls: { alloc: 3, write: 4 },
      errors: { write: 1 },
      scheduled: { bytes: 4096 },
      transports: { control: { doorbells: 2 }, data: { doorbells: 1 } },
      latencyUs: { p50: 12, p99: 40 },
    },
  });

  it("shows a departed guest's figures and why it left, not only with --json", () => {
    const snapshot = {
      type: 'stats',
      guests: [],
      departed: [{ ...guest(2, 'cli-guest'), reason: 'the guest said goodbye' }],
      audit: [],
    } as unknown as StatsSnapshot;
    const text = formatStats(snapshot);
    expect(text).toContain('(no guest attached)');
    expect(text).toContain('departed (1):');
    expect(text).toMatch(
      /^cli-guest \(2\) +7 +1 +4096 +3 +12 +40 {3}1 Buffer {3}\(the guest said goodbye\)$/m,
    );
  });
});

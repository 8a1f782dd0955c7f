import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openRemoteDevice } from './compose/remote-device.js';
import { CLI_TEST_TIMEOUT_MS, runCli, startCli, waitForOutput } from './testing/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vrdma-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each command runs as a child process that runCli kills at its own deadline (up to 120 s);
// the test's bound sits above it, so a slow machine fails with the command's output, not a
// vitest timeout.
describe('vrdma', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('lists its commands with --help, and refuses an unknown one with exit code 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['demo', 'host', 'guest', 'bench', 'stats'])
      expect(help.stdout).toContain(command);
    const wrong = await runCli(['frobnicate']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('demo: three thread guests write and read across nodes, verified, then native versus remoted', async () => {
    const run = await runCli(['demo']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.match(/read back identical/g)).toHaveLength(3);
    expect(run.stdout).toMatch(/native +\d+\.\d+ GB\/s/);
    expect(run.stdout).toMatch(/remoted +\d+\.\d+ GB\/s/);
    expect(run.stdout).toContain('all transfers verified');
  });

  it('demo --guests process: the same with guests in their own OS processes, any --size', async () => {
    const run = await runCli(['demo', '--guests', 'process', '--count', '2', '--size', '64KiB']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('guests as OS processes');
    expect(run.stdout.match(/wrote 64 KiB ok, read back identical/g)).toHaveLength(2);
    expect(run.stdout).toMatch(/remoted +\d+\.\d+ GB\/s/);
  });

  it('bench --quick --json prints exactly one JSON object of the documented shape', async () => {
    const run = await runCli(['bench', '--quick', '--json'], 120_000);
    expect(run.code).toBe(0);
    const result = z
      .object({
        bandwidth: z
          .array(
            z.object({
              size: z.number().int().positive(),
              nativeGBps: z.number().positive(),
              remotedGBps: z.number().positive(),
              ratio: z.number().positive(),
            }),
          )
          .min(4),
        control: z
          .array(
            z.object({
              fn: z.enum(['open', 'alloc', 'free', 'exportBuffer', 'openChannel']),
              nativeUs: z.number().positive(),
              remotedUs: z.number().positive(),
              vsComlink: z.number().positive(),
              nativeMedianUs: z.number().positive(),
              remotedMedianUs: z.number().positive(),
              medianVsComlink: z.number().positive(),
            }),
          )
          .length(5),
        // z.number() refuses NaN and ±Infinity: positive and finite.
        baselines: z.object({
          comlinkUs: z.number().positive(),
          postMessageUs: z.number().positive(),
          comlinkMedianUs: z.number().positive(),
          postMessageMedianUs: z.number().positive(),
        }),
        smallWrites: z.object({
          size: z.literal(64),
          inFlight: z.number().int().min(32),
          nativeOpsPerSec: z.number().positive(),
          remotedOpsPerSec: z.number().positive(),
          ratio: z.number().positive(),
        }),
        kicks: z.object({ perDataOp: z.number().min(0), perControlCall: z.number().min(0) }),
        guests: z
          .array(
            z.object({
              n: z.number().int().positive(),
              aggregateGBps: z.number().positive(),
              jain: z.number().min(0).max(1),
            }),
          )
          .min(3),
      })
      .parse(JSON.parse(run.stdout));
    for (const p of result.bandwidth) expect(p.ratio).toBeCloseTo(p.remotedGBps / p.nativeGBps, 6);
    for (const c of result.control) {
      expect(c.vsComlink).toBeCloseTo(c.remotedUs / result.baselines.comlinkUs, 6);
      expect(c.medianVsComlink).toBeCloseTo(
        c.remotedMedianUs / result.baselines.comlinkMedianUs,
        6,
      );
    }
    const writes = result.smallWrites;
    expect(writes.ratio).toBeCloseTo(writes.remotedOpsPerSec / writes.nativeOpsPerSec, 6);
    expect(result.bandwidth.map((p) => p.size)).toEqual([64, 4096, 65536, 1 << 20]);
    expect(result.guests.map((g) => g.n)).toEqual([1, 2, 4]);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    // With no terminal, progress is a line per step on stderr: never a silent quarter minute.
    expect(run.stderr).toMatch(/^\[ ?1\/\d+\] starting the cluster and guests$/m);
  });

  it('host and guests in separate processes: attach, transfer, stats, and a clean SIGTERM shutdown', async () => {
    const socket = join(dir, 'host.sock');
    const host = startCli(['host', '--socket', socket]);
    try {
      await waitForOutput(host, 'listening on');
      const guest = await runCli(['guest', '--socket', socket, '--label', 'cli-guest']);
      expect(guest.code).toBe(0);
      // The global address is spelled out: the node and the offset in it.
      expect(guest.stdout).toMatch(
        /round 1: wrote 65536 bytes to its exported buffer \(node 0 at offset 0x[0-9a-f]+\) and read them back: ok, ok, identical/,
      );

      const live = await openRemoteDevice(socket, { label: 'live-guest', memoryBytes: 1 << 20 });
      await live.alloc({ size: 4096 });
      const stats = await runCli(['stats', '--socket', `${socket}.operator`]);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toMatch(/live-guest \(\d+\)/);
      expect(stats.stdout).toMatch(/1 Buffer$/m);
      // The guest that has gone keeps its figures in the table, with why it left.
      expect(stats.stdout).toMatch(/^departed \(1\):$/m);
      expect(stats.stdout).toMatch(/^cli-guest \(\d+\) +\d+ .*\(the guest said goodbye\)$/m);
      const json = await runCli(['stats', '--socket', `${socket}.operator`, '--json']);
      expect(JSON.parse(json.stdout).guests[0].metrics.calls.alloc).toBe(1);

      const gone = new Promise<string>((resolve) =>
        live.connection.onDisconnect((reason) => resolve(reason.code)),
      );
      const exited = new Promise<number | null>((resolve) => host.once('exit', resolve));
      host.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await gone).toBe('DISCONNECTED');
      await expect(live.query()).rejects.toMatchObject({ code: 'DISCONNECTED' });
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('a refused guest and its host each say why in one line; a guest whose host stops says DISCONNECTED', async () => {
    const socket = join(dir, 'refusing.sock');
    const host = startCli(['host', '--socket', socket]);
    let hostErr = '';
    host.stderr!.on('data', (chunk: Buffer) => {
      hostErr += chunk.toString();
    });
    try {
      await waitForOutput(host, 'listening on');
      const greedy = await runCli([
        'guest',
        '--socket',
        socket,
        '--label',
        'greedy',
        '--memory',
        '1GiB',
      ]);
      expect(greedy.code).toBe(3);
      expect(greedy.stderr).toBe(
        'vrdma: the host refused: 1073741824 bytes of memory asked for; this host gives at most 268435456\n',
      );
      expect(hostErr).toContain(
        'refused: guest greedy: 1073741824 bytes of memory asked for; this host gives at most 268435456\n',
      );

      const tiny = await runCli(['guest', '--socket', socket, '--label', 'tiny', '--size', '1']);
      expect(tiny.code, tiny.stderr).toBe(0);
      expect(tiny.stdout).toMatch(
        /round 1: wrote 1 byte to its exported buffer \(node 0 at offset 0x[0-9a-f]+\) and read it back: ok, ok, identical$/m,
      );

      const busy = startCli([
        'guest',
        '--socket',
        socket,
        '--label',
        'busy',
        '--rounds',
        '100000000',
      ]);
      let busyErr = '';
      busy.stderr!.on('data', (chunk: Buffer) => {
        busyErr += chunk.toString();
      });
      const busyExit = new Promise<number | null>((resolve) => busy.once('exit', resolve));
      await waitForOutput(busy, 'round 1:');
      host.kill('SIGTERM');
      expect(await busyExit).toBe(3);
      expect(busyErr).toMatch(/^vrdma: DISCONNECTED: the host went away \([^\n]+\)\n$/);
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('says what is wrong in one line, with no stack trace unless --verbose', async () => {
    const socket = join(dir, 'nobody.sock');
    const run = await runCli(['guest', '--socket', socket]);
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toBe(`vrdma: no vrdma host listens at ${socket}`);
    const verbose = await runCli(['--verbose', 'guest', '--socket', socket]);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('guest refuses, as usage errors, a label or memory the attach protocol does not allow', async () => {
    const socket = join(dir, 'nobody.sock');
    const memory = await runCli(['guest', '--socket', socket, '--memory', '3GiB']);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(
      new RegExp(`argument '3GiB' is invalid. expected 1 byte to ${2 ** 31} bytes`),
    );
    const label = await runCli(['guest', '--socket', socket, '--label', 'vm 1']);
    expect(label.code).toBe(2);
    expect(label.stderr).toMatch(
      /argument 'vm 1' is invalid. expected 1 to 64 letters, digits, _, \. or -/,
    );
  });

  it('host refuses a path that holds a file, in one line, and leaves the file as it was', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'keep me\n');
    const run = await runCli(['host', '--socket', file]);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`vrdma: ${file} exists and is not a socket: refusing to replace it\n`);
    expect(run.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
  });

  it('host refuses the socket of a live host in one line; the live host keeps serving', async () => {
    const socket = join(dir, 'live.sock');
    const first = startCli(['host', '--socket', socket]);
    try {
      await waitForOutput(first, 'listening on');
      const second = await runCli(['host', '--socket', socket]);
      expect(second.code).toBe(3);
      expect(second.stderr).toBe(`vrdma: a host is already listening at ${socket}\n`);
      const guest = await runCli(['guest', '--socket', socket, '--label', 'after-refusal']);
      expect(guest.stderr).toBe('');
      expect(guest.code).toBe(0);
      expect(guest.stdout).toMatch(/read them back: ok, ok, identical/);
    } finally {
      first.kill('SIGKILL');
    }
  });

  it('host says in one line that the folder of its socket does not exist', async () => {
    const folder = join(dir, 'no-such-folder');
    const run = await runCli(['host', '--socket', join(folder, 'host.sock')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`vrdma: the folder ${folder} does not exist\n`);
  });
});

// Proves what makeNonDumpable buys, with real processes of real, unprivileged users: a target
// holding guest memory in a memfd, and attackers that try the three ways in through /proc
// (open its descriptor, read its memory, list its mappings). Root passes every permission
// check, so no attacker runs as root; the targets and attackers run as numeric uids that need
// no passwd entry. They cannot read this repository (it may live under a private folder), so
// they run two small self-contained scripts, with a copy of the add-on, from a fresh folder
// that every user can read.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const USER = 65533; // the target's user, and its same-user attacker's
const OTHER_USER = 65534; // nobody
const DENIED = ['EACCES', 'EPERM'];
const ADDON = fileURLToPath(new URL('../build/Release/vrdma_memory.node', import.meta.url));

// The guest: memory in a sealed memfd holding a secret, its descriptor kept open, as a host
// or guest holds its region. With "non-dumpable" it calls what makeNonDumpable calls.
const TARGET = `
import { createRequire } from 'node:module';
const native = createRequire(import.meta.url)('./vrdma_memory.node');
const fd = native.createMemfd('vrdma-guest-secret', 4096);
const bytes = new Uint8Array(native.map(fd, 4096));
const secret = 'guest secret of ' + process.pid;
bytes.set(new TextEncoder().encode(secret));
globalThis.keep = bytes;
if (process.argv[2] === 'non-dumpable') native.setDumpable(false);
console.log(JSON.stringify({ pid: process.pid, uid: process.getuid(), fd, secret, dumpable: native.isDumpable() }));
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
`;

// The attacker: node:fs only. Each way in reports the secret it read, or the error's code.
const ATTACKER = `
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
const [pid, fd, length] = process.argv.slice(2);
const attempt = (how) => { try { return { read: how() }; } catch (error) { return { denied: error.code ?? String(error) }; } };
const readAt = (path, position) => {
  const handle = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Number(length));
    readSync(handle, buffer, 0, buffer.length, position);
    return buffer.toString();
  } finally { closeSync(handle); }
};
const memfdAddress = () => {
  const line = readFileSync('/proc/' + pid + '/maps', 'utf8').split('\\n').find((l) => l.includes('/memfd:vrdma-guest-secret'));
  return line ? Number.parseInt(line.split('-')[0], 16) : -1;
};
console.log(JSON.stringify({
  uid: process.getuid(),
  fd: attempt(() => readAt('/proc/' + pid + '/fd/' + fd, 0)),
  mem: attempt(() => { const handle = openSync('/proc/' + pid + '/mem', 'r'); closeSync(handle); return readAt('/proc/' + pid + '/mem', memfdAddress()); }),
  mapFiles: attempt(() => readdirSync('/proc/' + pid + '/map_files').length),
}));
`;

interface TargetInfo {
  pid: number;
  uid: number;
  fd: number;
  secret: string;
  dumpable: boolean;
}
type Attempt<T> = { read: T } | { denied: string };
interface AttackReport {
  uid: number;
  fd: Attempt<string>;
  mem: Attempt<string>;
  mapFiles: Attempt<number>;
}

/** The first folder on the way to `path` that other users cannot pass, if any. */
function blockedFolder(path: string): string | undefined {
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) return folder;
    if (folder === dirname(folder)) return undefined;
  }
}

function cannotTest(reason: string): never {
  throw new Error(`cannot test non-dumpable processes on this machine: ${reason}`);
}

/** Checks what running unprivileged processes here needs; throws a one-line reason if not. */
function checkMachine(): void {
  if (process.platform !== 'linux') cannotTest(`this is ${process.platform}, not Linux`);
  if (process.getuid?.() !== 0) cannotTest('starting processes of other users needs root');
  if (!existsSync(ADDON)) cannotTest(`the add-on is not built (${ADDON}); run npm rebuild`);
  const node = realpathSync(process.execPath);
  if ((statSync(node).mode & 0o005) !== 0o005) cannotTest(`${node} is not runnable by all`);
  const blocked = blockedFolder(node);
  if (blocked) cannotTest(`${blocked}, on the way to ${node}, cannot be passed by other users`);
}

/** A fresh folder every user can read, in the first temporary folder they can all reach. */
function makeSandbox(): string {
  for (const parent of [tmpdir(), '/tmp', '/dev/shm']) {
    if (!existsSync(parent) || blockedFolder(join(parent, 'x'))) continue;
    const folder = mkdtempSync(join(parent, 'vrdma-dumpable-'));
    chmodSync(folder, 0o755);
    return folder;
  }
  return cannotTest(`no temporary folder that other users can reach (${tmpdir()}, /tmp)`);
}

let sandbox: string;
const started: ChildProcess[] = [];

/** Runs a script of the sandbox as `uid`, with nothing of this process's environment. */
function runAs(uid: number, script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(sandbox, script), ...args], {
    uid,
    gid: uid,
    cwd: sandbox,
    env: { PATH: '/usr/bin:/bin' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.push(child);
  return child;
}

/** What a process prints up to its first line, or an error saying how it ended instead. */
function firstLine(child: ChildProcess, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.once('error', (error) => reject(new Error(`${label} did not start: ${error.message}`)));
    child.once('exit', (code, signal) =>
      reject(new Error(`${label} ended (${code ?? signal}) before reporting: ${err.trim()}`)),
    );
  });
}

async function startTarget(mode: 'dumpable' | 'non-dumpable'): Promise<TargetInfo> {
  const child = runAs(USER, 'target.mjs', [mode]);
  return JSON.parse(await firstLine(child, `the ${mode} target (uid ${USER})`)) as TargetInfo;
}

async function attack(uid: number, target: TargetInfo): Promise<AttackReport> {
  const args = [String(target.pid), String(target.fd), String(target.secret.length)];
  const child = runAs(uid, 'attacker.mjs', args);
  child.stdin!.end();
  return JSON.parse(await firstLine(child, `the attacker (uid ${uid})`)) as AttackReport;
}

function expectDenied(report: AttackReport): void {
  for (const way of ['fd', 'mem', 'mapFiles'] as const) {
    const attempt = report[way];
    expect(
      'denied' in attempt ? attempt.denied : `read ${JSON.stringify(attempt.read)}`,
      way,
    ).toBeOneOf(DENIED);
  }
}

describe('a non-dumpable process', () => {
  // Set up once, awaited by every test: a machine that cannot run this fails each test with
  // the reason, rather than a failed hook that leaves the tests reported as skipped.
  let ready: Promise<{ dumpable: TargetInfo; guarded: TargetInfo }> | undefined;
  const targets = () => {
    ready ??= (async () => {
      checkMachine();
      sandbox = makeSandbox();
      copyFileSync(ADDON, join(sandbox, 'vrdma_memory.node'));
      writeFileSync(join(sandbox, 'target.mjs'), TARGET);
      writeFileSync(join(sandbox, 'attacker.mjs'), ATTACKER);
      for (const file of ['vrdma_memory.node', 'target.mjs', 'attacker.mjs']) {
        chmodSync(join(sandbox, file), 0o644);
      }
      const [dumpable, guarded] = await Promise.all([
        startTarget('dumpable'),
        startTarget('non-dumpable'),
      ]);
      return { dumpable, guarded };
    })();
    return ready;
  };

  afterAll(async () => {
    await Promise.all(
      started.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    if (sandbox) rmSync(sandbox, { recursive: true, force: true });
  });

  it('runs as an unprivileged user, beside a control that stayed dumpable', async () => {
    const { dumpable, guarded } = await targets();
    expect(dumpable).toMatchObject({ uid: USER, dumpable: true });
    expect(guarded).toMatchObject({ uid: USER, dumpable: false });
  });

  it('is open to its own user while dumpable: descriptor, memory and mappings', async () => {
    const { dumpable } = await targets();
    const report = await attack(USER, dumpable);
    expect(report.uid).toBe(USER);
    expect(report.fd).toEqual({ read: dumpable.secret });
    expect(report.mem).toEqual({ read: dumpable.secret });
    expect(report.mapFiles).toMatchObject({ read: expect.any(Number) });
    expect((report.mapFiles as { read: number }).read).toBeGreaterThan(0);
  });

  it('is closed to its own user once non-dumpable', async () => {
    const { guarded } = await targets();
    const report = await attack(USER, guarded);
    expect(report.uid).toBe(USER);
    expectDenied(report);
  });

  it('is closed to another user, dumpable or not', async () => {
    const { dumpable, guarded } = await targets();
    const [againstGuarded, againstDumpable] = await Promise.all([
      attack(OTHER_USER, guarded),
      attack(OTHER_USER, dumpable),
    ]);
    expect(againstGuarded.uid).toBe(OTHER_USER);
    expectDenied(againstGuarded);
    expectDenied(againstDumpable);
  });

  it('is still open to root: non-dumpable is no defence against root', async () => {
    const { guarded } = await targets();
    const handle = openSync(`/proc/${guarded.pid}/fd/${guarded.fd}`, 'r');
    try {
      const buffer = Buffer.alloc(guarded.secret.length);
      readSync(handle, buffer, 0, buffer.length, 0);
      expect(buffer.toString()).toBe(guarded.secret);
    } finally {
      closeSync(handle);
    }
  });
});

// The guest boundary end to end, with real processes of real unprivileged users: a host and
// guests A and B that attach through listen / connectToHost, and a control guest that undid
// non-dumpable on purpose, all of one user; an attacker of that same user and one of another.
// Root passes every permission check, so nothing under test runs as root: this process only
// starts the others (see ../test-fixtures/boundary) and reads the attach protocol's wire.
import { closeSync, statSync, writeSync } from 'node:fs';
import { ATTACH_PROTOCOL_VERSION, type BufferRef } from '@vrdma/api-spec';
import { connectUnix, nativeMemory, receiveRegions } from '@vrdma/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcReport } from '../test-fixtures/boundary/proc-probe.js';
import { checkMachine, createSandbox, type Sandbox } from '../test-fixtures/boundary/sandbox.js';
import { ScriptProcess } from '../test-fixtures/boundary/script-process.js';

const USER = 65533; // the host's and every guest's, and the same-user attacker's
const OTHER_USER = 65534; // nobody
const DENIED = ['EACCES', 'EPERM'];

interface Ready {
  pid: number;
  uid: number;
  /** Whether the process was dumpable before it listened or attached. */
  startedDumpable: boolean;
  secret: string;
  /** A guest's buffer holding its secret. */
  ref: BufferRef;
}
interface AttackReport {
  uid: number;
  socketMode: number;
  connect: { read: boolean } | { denied: string };
  targets: Record<'host' | 'a' | 'b' | 'control', ProcReport>;
}

/** Everything the tests look at, once every process is up and the attackers have reported. */
interface World {
  hostProcess: ScriptProcess;
  guestB: ScriptProcess;
  host: Ready;
  a: Ready;
  b: Ready;
  control: Ready;
  sameUser: AttackReport;
  otherUser: AttackReport;
}

let sandbox: Sandbox | undefined;
const running: ScriptProcess[] = [];
// Awaited by every test, so a machine that cannot run them fails each with its reason.
let world: Promise<World>;

function start(uid: number, script: 'host' | 'guest' | 'attacker', args: string[], label: string) {
  const started = ScriptProcess.start(sandbox!, uid, script, args, label);
  running.push(started);
  return started;
}

async function startGuest(label: string, mode: 'guarded' | 'stays-dumpable') {
  const guest = start(USER, 'guest', [sandbox!.socketPath, label, mode], `guest ${label}`);
  return { guest, ready: await guest.take<Ready>((line) => line.ready, 'ready line') };
}

async function attack(uid: number, targets: Ready[]): Promise<AttackReport> {
  const [host, a, b, control] = targets as [Ready, Ready, Ready, Ready];
  const order = {
    socket: sandbox!.socketPath,
    targets: { host: host.pid, a: a.pid, b: b.pid, control: control.pid },
    secrets: targets.map((t) => t.secret),
  };
  const attacker = start(uid, 'attacker', [JSON.stringify(order)], `the attacker (uid ${uid})`);
  return attacker.take<AttackReport>((line) => (line.targets ? line : undefined), 'report');
}

async function startWorld(): Promise<World> {
  checkMachine();
  sandbox = await createSandbox(USER);
  const hostProcess = start(USER, 'host', [sandbox.socketPath], 'the host');
  const host = await hostProcess.take<Ready>((line) => line.ready, 'ready line');
  const [a, b, control] = await Promise.all([
    startGuest('A', 'guarded'),
    startGuest('B', 'guarded'),
    startGuest('control', 'stays-dumpable'),
  ]);
  const readies = [host, a.ready, b.ready, control.ready];
  const [sameUser, otherUser] = await Promise.all([
    attack(USER, readies),
    attack(OTHER_USER, readies),
  ]);
  return {
    hostProcess,
    guestB: b.guest,
    host,
    a: a.ready,
    b: b.ready,
    control: control.ready,
    sameUser,
    otherUser,
  };
}

/** Every way in refused by the kernel's permission check. */
function expectDenied(report: ProcReport, who: string): void {
  for (const way of ['fd', 'mem', 'mapFiles'] as const) {
    const attempt = report[way];
    const outcome = 'denied' in attempt ? attempt.denied : `read ${JSON.stringify(attempt.read)}`;
    expect(outcome, `${who}: ${way}`).toBeOneOf(DENIED);
  }
}

/** Attaches as a bare client: the host's first line, and the descriptors that came with it. */
function attachBare(path: string): { line: string; fds: number[] } {
  const socket = connectUnix(path);
  try {
    const request = {
      type: 'attach',
      version: ATTACH_PROTOCOL_VERSION,
      label: 'bare',
      memoryBytes: 4096,
    };
    writeSync(socket, `${JSON.stringify(request)}\n`);
    let text = '';
    const fds: number[] = [];
    while (!text.includes('\n')) {
      // Room for more descriptors than the welcome lists, so an extra one would show.
      const part = receiveRegions(socket, { maxBytes: 4096, maxFds: 8, timeoutMs: 5_000 });
      text += Buffer.from(part.data).toString('utf8');
      fds.push(...part.fds);
    }
    return { line: text.slice(0, text.indexOf('\n')), fds };
  } finally {
    closeSync(socket);
  }
}

describe('the guest boundary, between real processes of unprivileged users', () => {
  beforeAll(async () => {
    world = startWorld();
    await world.catch(() => undefined);
  });

  afterAll(async () => {
    await Promise.all(running.map((script) => script.stop()));
    sandbox?.remove();
  });

  it('runs the host and every guest as an unprivileged user, on a socket only that user may use', async () => {
    const { host, a, b, control } = await world;
    // Each started dumpable: spawning as a user did not close /proc, listen and attach did.
    for (const ready of [host, a, b, control])
      expect(ready).toMatchObject({ uid: USER, startedDumpable: true });
    const socket = statSync(sandbox!.socketPath);
    expect(socket.isSocket()).toBe(true);
    expect(socket.uid).toBe(USER);
    expect(socket.mode & 0o777).toBe(0o600);
  });

  it('hands a guest its regions as descriptors only: the welcome names no path', async () => {
    await world;
    const { line, fds } = attachBare(sandbox!.socketPath);
    try {
      const welcome = JSON.parse(line);
      const region = { id: expect.any(Number), size: expect.any(Number) };
      // Exactly these fields: ids and sizes, nothing another process could open.
      expect(welcome).toEqual({ type: 'welcome', control: region, data: region, memory: region });
      expect(line).not.toMatch(/\/|proc|memfd|path/);
      // The regions themselves came as descriptors, in the welcome's order.
      expect(fds).toHaveLength(3);
      [welcome.control, welcome.data, welcome.memory].forEach((listed, i) => {
        const info = nativeMemory().memfdInfo(fds[i]!);
        expect(info.isMemfd).toBe(true);
        expect(info.size).toBeGreaterThanOrEqual(listed.size);
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });

  it('keeps the host and the guests closed to another process of their own user', async () => {
    const { sameUser } = await world;
    expect(sameUser.uid).toBe(USER);
    // The socket lets its own user in: the refusals below are not a locked-out attacker.
    expect(sameUser.connect).toEqual({ read: true });
    expectDenied(sameUser.targets.host, 'same user → host');
    expectDenied(sameUser.targets.a, 'same user → guest A');
    expectDenied(sameUser.targets.b, 'same user → guest B');
  });

  it('keeps another user off the socket it can see, and out of every process', async () => {
    const { otherUser } = await world;
    expect(otherUser.uid).toBe(OTHER_USER);
    expect(otherUser.socketMode).toBe(0o600);
    expect(otherUser.connect).toEqual({ denied: 'EACCES' });
    for (const name of ['host', 'a', 'b', 'control'] as const)
      expectDenied(otherUser.targets[name], `other user → ${name}`);
  });

  it("refuses guest B the use of guest A's buffer reference, as isolation, and audits it", async () => {
    const { hostProcess, guestB, a, b } = await world;
    expect(b.ref.region).not.toBe(a.ref.region);
    const write = (local: BufferRef) =>
      guestB.ask({ write: local }, (line) => (line.refused || line.wrote ? line : undefined));
    expect(await write(a.ref)).toEqual({ refused: 'OUT_OF_RANGE' });
    const record = await hostProcess.take(
      (line) => (line.audit?.kind === 'isolation' ? line.audit : undefined),
      'isolation record',
    );
    expect(record).toMatchObject({ label: 'B', kind: 'isolation' });
    expect(record.message).toContain(`region ${a.ref.region}, which is not its own`);
    // The same write from B's own buffer goes through: only the foreign reference was refused.
    expect(await write(b.ref)).toEqual({ wrote: ['ok'] });
  });

  it("keeps guest A's memory closed to guest B through /proc, though they share a user", async () => {
    const { guestB, a } = await world;
    const report = await guestB.ask({ probe: { pid: a.pid, secrets: [a.secret] } }, (line) =>
      line.probed ? (line.probed as ProcReport) : undefined,
    );
    expectDenied(report, 'guest B → guest A');
  });

  it('control: a guest that stayed dumpable is open to its user, so the refusals are non-dumpable', async () => {
    const { guestB, sameUser, control } = await world;
    const expectOpen = (report: ProcReport, who: string) => {
      expect(report.fd, `${who}: fd`).toEqual({ read: [control.secret] });
      expect(report.mem, `${who}: mem`).toEqual({ read: [control.secret] });
      expect(report.mapFiles, `${who}: mapFiles`).toEqual({ read: expect.any(Number) });
      expect((report.mapFiles as { read: number }).read, `${who}: mapFiles`).toBeGreaterThan(0);
    };
    expectOpen(sameUser.targets.control, 'same user → control');
    const byB = await guestB.ask(
      { probe: { pid: control.pid, secrets: [control.secret] } },
      (line) => (line.probed ? (line.probed as ProcReport) : undefined),
    );
    expectOpen(byB, 'guest B → control');
  });
});

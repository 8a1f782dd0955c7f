import type { ChildProcess } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from '../host.js';
import { service } from '../service.js';
import { patternOf } from '../test-fixtures/pattern.js';
import { spawnGuest } from '../testing/guest-process.js';
import { exportedPeerBuffer } from '../testing/unimem-peer.js';
import { type HostListener, listen } from './listen.js';

const GUEST = fileURLToPath(new URL('../test-fixtures/unimem-process-guest.ts', import.meta.url));

let dir: string;
let cluster: MockCluster;
let host: Host;
let listener: HostListener | undefined;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-listen-'));
  cluster = createMockCluster({ nodes: [0, 1] });
  host = createHost({ services: [service(unimemSpec, cluster.engine(0))] });
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await host.close();
  await listener?.close();
  listener = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** This process's descriptors that are memfds the host made for guests. */
function guestMemfds(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith('/memfd:vrdma'));
}

describe('listen: process guests over a UNIX socket', () => {
  it('attaches a guest process whose memory arrives as descriptors, and keeps none itself', async () => {
    const path = join(dir, 'host.sock');
    const attached: string[] = [];
    listener = await listen(host, { path, onAttach: (g) => attached.push(g.label) });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const target = await exportedPeerBuffer(cluster);
    const before = guestMemfds().length;
    const { child, next } = spawnGuest(GUEST, [
      path,
      'p1',
      String(target.key),
      String(target.address),
    ]);
    children.push(child);
    expect(await next()).toMatchObject({ round: 0, statuses: ['ok', 'ok'], same: true });
    expect(target.view).toEqual(patternOf(4096, 0));
    expect(attached).toEqual(['p1']);
    expect(guestMemfds().length).toBe(before);
    const [guest] = host.guests();
    expect(guest!.ledger.held).toEqual({ Buffer: 2, Channel: 1 });

    child.kill('SIGKILL');
    const departed = await new Promise((resolve) => {
      const poll = setInterval(() => {
        const record = host.departed().find((d) => d.label === 'p1');
        if (record) {
          clearInterval(poll);
          resolve(record);
        }
      }, 20);
    });
    expect(departed).toMatchObject({ ledger: { held: {}, bytes: 0, calls: 0, memory: 0 } });
  });

  it('refuses a path that holds a file, or a live host, and replaces only a stale socket', async () => {
    const file = join(dir, 'data.txt');
    writeFileSync(file, 'precious');
    await expect(listen(host, { path: file })).rejects.toThrow(/exists and is not a socket/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
    await expect(listen(host, { path: join(dir, 'nope', 's.sock') })).rejects.toThrow(
      /folder .* does not exist/,
    );

    const path = join(dir, 'host.sock');
    listener = await listen(host, { path });
    await expect(listen(host, { path })).rejects.toThrow(/already listening/);

    // A socket nobody answers on any more is stale: a new host takes its place.
    const stale = join(dir, 'stale.sock');
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(stale, resolve));
    const deadIno = statSync(stale).ino;
    (dead as unknown as { _handle: { close(): void } })._handle.close(); // gone, file left behind
    const second = await listen(host, { path: stale });
    expect(statSync(stale).ino).not.toBe(deadIno);
    await second.close();
    expect(() => statSync(stale)).toThrow();
  });

  it('removes on close only the socket it created', async () => {
    const path = join(dir, 'host.sock');
    const first = await listen(host, { path });
    rmSync(path);
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(path, resolve));
    await first.close();
    expect(statSync(path).isSocket()).toBe(true);
    await new Promise<void>((resolve) => other.close(() => resolve()));
  });

  it('refuses attaches past the cap, drops a silent one after its timeout, and caps memory', async () => {
    const path = join(dir, 'host.sock');
    const refusals: Array<{ reason: string; label?: string }> = [];
    listener = await listen(host, {
      path,
      maxPendingAttaches: 2,
      attachTimeoutMs: 200,
      onRefuse: (refusal) => refusals.push(refusal),
    });
    const open = () =>
      new Promise<import('node:net').Socket>((resolve) => {
        const socket = createConnection(path, () => resolve(socket));
      });
    const answers = (socket: import('node:net').Socket) =>
      new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString();
        });
        socket.once('close', () => resolve(text));
      });
    const silent = [await open(), await open()];
    const closed = silent.map(answers);
    const third = await open();
    expect(await answers(third)).toMatch(/2 attaches are already under way/);
    // The silent ones are closed by the host after 200 ms, with nothing said.
    expect(await Promise.all(closed)).toEqual(['', '']);
    expect(listener.pending).toBe(0);

    const greedy = await open();
    greedy.write(
      `${JSON.stringify({ type: 'attach', version: 2, label: 'greedy', memoryBytes: 2 ** 31 })}\n`,
    );
    expect(await answers(greedy)).toMatch(/at most 268435456/);
    expect(host.guests()).toEqual([]);
    // The host hears of each refusal with what the peer was told, and the label it asked for.
    expect(refusals).toEqual([
      { reason: '2 attaches are already under way; try again', label: undefined },
      {
        reason: `${2 ** 31} bytes of memory asked for; this host gives at most 268435456`,
        label: 'greedy',
      },
    ]);
  });
});

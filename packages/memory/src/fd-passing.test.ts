import { spawn } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isVrdmaError } from '@vrdma/api-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectUnix } from './connect-unix.js';
import { mapReceivedRegion, SEALS } from './map-received-region.js';
import { createMemfdRegion } from './memfd-region.js';
import { nativeMemory } from './native.js';
import { receiveRegions } from './receive-regions.js';
import { sendRegions } from './send-regions.js';

const TS_EXEC_ARGV = ['--import', 'tsx', '--conditions=@vrdma/source'];
const GUEST = fileURLToPath(new URL('./test-fixtures/region-guest.ts', import.meta.url));
const encode = (text: string) => new TextEncoder().encode(text);

/** How many of this process's descriptors are the memfd called `name`. */
function memfdsNamed(name: string): number {
  let count = 0;
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${entry}`) === `/memfd:${name} (deleted)`) count++;
    } catch {
      // the directory's own descriptor, gone once listed
    }
  }
  return count;
}

/** Whether descriptor `fd` of this process (still) refers to `target`. */
function refersTo(fd: number, target: string): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith(target);
  } catch {
    return false;
  }
}

function expectVrdmaError(run: () => unknown, code: string, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(isVrdmaError(error, code), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    return;
  }
  expect.unreachable(`expected a ${code} VrdmaError matching ${message}`);
}

let dir: string;
let server: Server;
let serial = 0;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-fds-'));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(join(dir, 'host.sock'), resolve));
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A guest end (a raw descriptor from connectUnix) and the host's net.Socket, in this process. */
async function connectedPair(): Promise<{ guest: number; host: Socket }> {
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const guest = connectUnix(join(dir, 'host.sock'));
  return { guest, host: await accepted };
}

/** A memfd region under a name no other test uses, so /proc/self/fd can count its copies. */
function uniqueRegion(size = 4096) {
  const name = `vrdma-fds-test-${process.pid}-${serial++}`;
  return { name, region: createMemfdRegion(1, size, name) };
}

describe('regions sent as descriptors to another process', () => {
  it('are the same memory there, and the guest keeps no descriptor once mapped', async () => {
    const { name, region } = uniqueRegion(8192);
    region.bytes.set([1, 2, 3, 4], 0);
    const child = spawn(process.execPath, [...TS_EXEC_ARGV, GUEST, join(dir, 'host.sock')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let report = '';
    child.stdout.on('data', (chunk: Buffer) => {
      report += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const early = (what: string) =>
      exited.then((code) => Promise.reject(new Error(`guest exited (${code}) before ${what}`)));
    try {
      const host = await Promise.race([
        new Promise<Socket>((resolve) => server.once('connection', resolve)),
        early('connecting'),
      ]);
      sendRegions(host, encode(JSON.stringify({ id: 7, size: 8192 })), [region.fd]);
      region.close(); // the host keeps its mapping, and no descriptor
      expect(region.fd).toBe(-1);
      expect(memfdsNamed(name)).toBe(0);

      const signal = await Promise.race([
        new Promise<Buffer>((resolve) => host.once('data', resolve)),
        early('writing'),
      ]);
      expect(signal.toString()).toBe('w');
      expect(Array.from(region.bytes.subarray(4, 8))).toEqual([9, 8, 7, 6]);
      region.bytes.set([5, 5, 5, 5], 8);
      host.write('r');

      expect(await exited).toBe(0);
      const guest = JSON.parse(report);
      expect(guest.seen).toEqual([1, 2, 3, 4]); // the host's bytes, read in the guest's mapping
      expect(guest.seenLater).toEqual([5, 5, 5, 5]); // written by the host after mapping
      // The received descriptor appeared, and mapping closed it: the guest's table is as before.
      const received = `${guest.receivedFds[0]} /memfd:${name} (deleted)`;
      expect(guest.receivedFds).toHaveLength(1);
      expect(guest.beforeReceive).not.toContain(received);
      expect(guest.afterReceive).toEqual([...guest.beforeReceive, received].sort());
      expect(guest.afterMap).toEqual(guest.beforeReceive);
      // makeNonDumpable (called twice) took effect in the guest.
      expect(guest.wasDumpable).toBe(true);
      expect(guest.dumpable).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      region.close();
    }
  });

  it('carry their seals: a memfd region is sealed against shrinking, growing and new seals', () => {
    const { region } = uniqueRegion();
    try {
      const info = nativeMemory().memfdInfo(region.fd);
      expect(info).toEqual({
        size: 4096,
        isMemfd: true,
        seals: SEALS.SHRINK | SEALS.GROW | SEALS.SEAL,
      });
    } finally {
      region.close();
    }
    region.close(); // idempotent
  });
});

describe('a receiver given hostile input', () => {
  it('closes every descriptor and fails when more arrive than maxFds', async () => {
    const { guest, host } = await connectedPair();
    try {
      // 2 for 1 fits the control buffer's alignment (the count check); the others truncate it.
      for (const [sent, maxFds] of [
        [2, 1],
        [8, 2],
        [1, 0],
      ] as const) {
        const { name, region } = uniqueRegion();
        sendRegions(host, encode('regions'), Array(sent).fill(region.fd));
        region.close();
        expect(memfdsNamed(name)).toBe(0); // the only copies are in flight
        expectVrdmaError(
          () => receiveRegions(guest, { maxBytes: 64, maxFds, timeoutMs: 5000 }),
          'TRANSPORT',
          /more descriptors arrived than maxFds allows; all were closed/,
        );
        expect(memfdsNamed(name)).toBe(0);
      }
      // The count sees received descriptors: 3 accepted are 3 in the table until closed.
      const { name, region } = uniqueRegion();
      sendRegions(host, encode('regions'), [region.fd, region.fd, region.fd]);
      region.close();
      const { data, fds } = receiveRegions(guest, { maxBytes: 64, maxFds: 3, timeoutMs: 5000 });
      expect(new TextDecoder().decode(data)).toBe('regions');
      expect(memfdsNamed(name)).toBe(3);
      for (const fd of fds) closeSync(fd);
      expect(memfdsNamed(name)).toBe(0);
    } finally {
      closeSync(guest);
      host.destroy();
    }
  });

  it('refuses, and closes, a descriptor that is not a memfd', async () => {
    const { guest, host } = await connectedPair();
    const file = join(dir, 'plain-file');
    const plain = openSync(file, 'w+');
    ftruncateSync(plain, 8192);
    const socket = connectUnix(join(dir, 'host.sock'));
    try {
      sendRegions(host, encode('region'), [plain]);
      const { fds } = receiveRegions(guest, { maxBytes: 64, maxFds: 1, timeoutMs: 5000 });
      expect(refersTo(fds[0]!, file)).toBe(true);
      expectVrdmaError(
        () => mapReceivedRegion(1, fds[0]!, 8192),
        'INVALID_ARGUMENT',
        /region 1: the descriptor received is not a memfd/,
      );
      expect(refersTo(fds[0]!, file)).toBe(false);
      // A socket is no memory either, whatever size is asked.
      expectVrdmaError(
        () => mapReceivedRegion(2, socket, 4096),
        'INVALID_ARGUMENT',
        /region 2: the descriptor received is not a memfd/,
      );
      expect(refersTo(socket, 'socket:')).toBe(false);
    } finally {
      closeSync(plain);
      closeSync(guest);
      host.destroy();
    }
  });

  it('refuses shared memory that is not sealed against shrinking, unless told not to care', () => {
    // A tmpfs file is the same shmem as a memfd, but sealed with F_SEAL_SEAL from birth, so it
    // can never be sealed against shrinking: its owner may truncate it at any time.
    const file = `/dev/shm/vrdma-fds-test-${process.pid}`;
    let unsealed: number;
    try {
      unsealed = openSync(file, 'w+');
    } catch (error) {
      throw new Error(`this test needs a writable tmpfs at /dev/shm: ${error}`);
    }
    unlinkSync(file);
    ftruncateSync(unsealed, 4096);
    expect(nativeMemory().memfdInfo(unsealed)).toEqual({
      size: 4096,
      isMemfd: true,
      seals: SEALS.SEAL,
    });
    const second = openSync(`/proc/self/fd/${unsealed}`, 'r+');
    expectVrdmaError(
      () => mapReceivedRegion(3, unsealed, 4096),
      'INVALID_ARGUMENT',
      /region 3: the memfd received is not sealed against shrinking/,
    );
    const region = mapReceivedRegion(3, second, 4096, { requireSeals: false });
    region.bytes.set([42, 43], 0);
    expect(region.bytes[1]).toBe(43);
    expect(refersTo(second, file)).toBe(false); // closed once mapped
  });

  it('refuses a memfd smaller than the region it should be', async () => {
    const { guest, host } = await connectedPair();
    const { name, region } = uniqueRegion(4096);
    try {
      sendRegions(host, encode('region'), [region.fd]);
      region.close();
      const { fds } = receiveRegions(guest, { maxBytes: 64, maxFds: 1, timeoutMs: 5000 });
      expectVrdmaError(
        () => mapReceivedRegion(4, fds[0]!, 8192),
        'INVALID_ARGUMENT',
        /region 4: the memfd received holds 4096 bytes, fewer than the 8192 expected/,
      );
      expect(memfdsNamed(name)).toBe(0);
    } finally {
      closeSync(guest);
      host.destroy();
    }
  });

  it('fails clearly when the peer closes, and when nothing arrives in time', async () => {
    const { guest, host } = await connectedPair();
    try {
      expectVrdmaError(
        () => receiveRegions(guest, { maxBytes: 64, maxFds: 1, timeoutMs: 20 }),
        'TRANSPORT',
        /receiving regions: no message arrived within 20 ms/,
      );
      await new Promise((resolve) => host.destroy().once('close', resolve));
      expectVrdmaError(
        () => receiveRegions(guest, { maxBytes: 64, maxFds: 1, timeoutMs: 5000 }),
        'TRANSPORT',
        /receiving regions: the peer closed the socket/,
      );
    } finally {
      closeSync(guest);
    }
  });
});

describe('a sender', () => {
  it('refuses empty messages, too many descriptors, and sockets that cannot carry them', async () => {
    const { guest, host } = await connectedPair();
    const { region } = uniqueRegion();
    const tcp = createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as { port: number }).port;
    const overTcp = tcpConnect(port, '127.0.0.1');
    try {
      expectVrdmaError(
        () => sendRegions(host, new Uint8Array(0), [region.fd]),
        'INVALID_ARGUMENT',
        /non-empty Uint8Array/,
      );
      expectVrdmaError(
        () => sendRegions(host, encode('x'), Array(9).fill(region.fd)),
        'INVALID_ARGUMENT',
        /at most 8 descriptors, not 9/,
      );
      expectVrdmaError(
        () => sendRegions(host, encode('x'), [-1]),
        'INVALID_ARGUMENT',
        /must be a file descriptor, not -1/,
      );
      await new Promise((resolve) => overTcp.once('connect', resolve));
      expectVrdmaError(
        () => sendRegions(overTcp, encode('x'), [region.fd]),
        'TRANSPORT',
        /only over UNIX sockets, not IPv4/,
      );
    } finally {
      region.close();
      closeSync(guest);
      host.destroy();
      overTcp.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });

  it('gives up with an error, instead of blocking, when the peer never reads', async () => {
    const { guest, host } = await connectedPair();
    const { region } = uniqueRegion();
    const chunk = new Uint8Array(64 * 1024).fill(1);
    try {
      let failure: unknown;
      for (let i = 0; i < 1000 && failure === undefined; i++) {
        try {
          sendRegions(host, chunk, [region.fd]);
        } catch (error) {
          failure = error;
        }
      }
      expect(isVrdmaError(failure, 'TRANSPORT'), String(failure)).toBe(true);
      expect((failure as Error).message).toMatch(
        /sending regions: sendmsg: the socket stayed full/,
      );
    } finally {
      region.close();
      closeSync(guest);
      host.destroy();
    }
  });
});

describe('connectUnix', () => {
  it('says no host listens at a path without one, and refuses paths too long for a socket', () => {
    expectVrdmaError(
      () => connectUnix(join(dir, 'nobody.sock')),
      'TRANSPORT',
      /no host listens at .*nobody\.sock \(ENOENT\)/,
    );
    expectVrdmaError(
      () => connectUnix(`/tmp/${'x'.repeat(200)}`),
      'INVALID_ARGUMENT',
      /socket path is 205 bytes; a UNIX socket path holds at most 107/,
    );
  });

  it('connects a socket the host sees, which carries bytes both ways', async () => {
    const { guest, host } = await connectedPair();
    try {
      writeSync(guest, 'ping');
      const got = await new Promise<Buffer>((resolve) => host.once('data', resolve));
      expect(got.toString()).toBe('ping');
      host.write('pong');
      const reply = Buffer.alloc(4);
      expect(readSync(guest, reply)).toBe(4);
      expect(reply.toString()).toBe('pong');
    } finally {
      closeSync(guest);
      host.destroy();
    }
  });
});

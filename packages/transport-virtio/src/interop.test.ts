import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type FrameHandler, FrameKind, type Region, VrdmaError } from '@vrdma/api-spec';
import { createMemfdRegion, sendRegions } from '@vrdma/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileMirror } from './file-memory-port.js';
import {
  alignUp,
  availRingBytes,
  availUsedEventOffset,
  descTableBytes,
  legacyVringSize,
  usedAvailEventOffset,
} from './layout.js';
import type { MemoryPort } from './memory-port.js';
import { createVirtioServerTransport } from './server-transport.js';
import { anonymousSharedFile } from './shared-file.fixture.js';
import { streamNotificationSource, streamNotifier } from './stream-doorbell.js';

const HEADER = '/usr/include/linux/virtio_ring.h';
const source = (name: string) => fileURLToPath(new URL(`../interop/${name}`, import.meta.url));
const haveCompiler = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return existsSync(HEADER);
  } catch {
    return false;
  }
})();

/** Answers an echo call: same header as a Result, payload in upper case. */
const upperCaseEcho: FrameHandler = (request) => {
  const reply = request.slice();
  reply[1] = FrameKind.Result;
  for (let i = 12; i < reply.length; i++) {
    const c = reply[i]!;
    if (c >= 0x61 && c <= 0x7a) reply[i] = c - 0x20;
  }
  return reply;
};

describe('interop with a C driver built on <linux/virtio_ring.h>', () => {
  let dir: string;
  let driver: string;

  beforeAll(() => {
    if (!haveCompiler)
      throw new Error(
        `interop needs cc and ${HEADER}: install them (apt-get install build-essential linux-libc-dev)`,
      );
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vrdma-virtio-'));
    driver = join(dir, 'virtio-driver');
    execFileSync('cc', [
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-o',
      driver,
      source('virtio-driver.c'),
    ]);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Offers the device in fresh shared memory, runs the C driver against it, serves it. The
   * memory reaches the driver only as a descriptor, sent over a socket pair on its
   * descriptor 3 (SCM_RIGHTS). `memfd`: a sealed memfd both sides map. `file`: a plain shared
   * file, nameless once opened, that the host reaches through pread/pwrite (openFileMirror),
   * as a host without the native add-on would.
   */
  async function runDriver(args: {
    calls: number;
    burst: number;
    eventIdx: boolean;
    hostile?: boolean;
    memory?: 'memfd' | 'file';
  }) {
    const size = 1 << 16;
    let region: Region;
    let port: MemoryPort | undefined;
    let fd: number;
    let release: () => void;
    if (args.memory === 'file') {
      fd = anonymousSharedFile(size);
      const mirror = openFileMirror(fd);
      ({ region, port } = mirror);
      release = () => mirror.close();
    } else {
      const memfd = createMemfdRegion(1, size, 'vrdma-virtio-interop');
      ({ fd } = memfd);
      region = memfd;
      release = () => memfd.close();
    }
    const kicks = new PassThrough();
    const interrupts = new PassThrough();
    const server = createVirtioServerTransport({
      region,
      ...(port ? { port } : {}),
      kicks: streamNotificationSource(kicks),
      interrupts: streamNotifier(interrupts),
    });
    const reasons: VrdmaError[] = [];
    server.onDisconnect((reason) => reasons.push(reason));
    server.serve(upperCaseEcho);
    const argv = [String(args.calls), String(args.burst), args.eventIdx ? '1' : '0'];
    if (args.hostile) argv.push('hostile');
    const child = spawn(driver, argv, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const memorySocket = child.stdio[3] as Socket;
    memorySocket.on('error', () => {});
    sendRegions(memorySocket, Buffer.from(String(size)), [fd]);
    if (args.memory !== 'file') release(); // the host keeps its mapping, no descriptor
    child.stdout.pipe(kicks);
    interrupts.pipe(child.stdin);
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    await server.close();
    release();
    return { code, stderr, server, reasons };
  }

  it('agrees with the header on every size and offset', () => {
    const probe = join(dir, 'layout-probe');
    execFileSync('cc', ['-Wall', '-Werror', '-o', probe, source('layout-probe.c')]);
    const facts = JSON.parse(execFileSync(probe, { encoding: 'utf8' })) as Record<string, number>;
    expect(facts).toMatchObject({
      desc_size: 16,
      desc_addr: 0,
      desc_len: 8,
      desc_flags: 12,
      desc_next: 14,
      used_elem_size: 8,
      avail_ring: 4,
      used_ring: 4,
      vring_size_256_4096: 10246,
    });
    for (const [size, align] of [
      [1, 4],
      [128, 4096],
      [256, 4096],
      [32768, 4096],
    ] as const) {
      expect(legacyVringSize(size, align)).toBe(facts[`vring_size_${size}_${align}`]);
    }
    // vring_init's single block, rebuilt from our per-area sizes and offsets.
    const avail = descTableBytes(256);
    const used = alignUp(avail + availRingBytes(256), 4096);
    expect(facts.legacy_256_avail).toBe(avail);
    expect(facts.legacy_256_used).toBe(used);
    expect(facts.legacy_256_used_event).toBe(avail + availUsedEventOffset(256));
    expect(facts.legacy_256_avail_event).toBe(used + usedAvailEventOffset(256));
  });

  it('serves a driver that calls one at a time, with and without EVENT_IDX', async () => {
    for (const eventIdx of [true, false]) {
      const run = await runDriver({ calls: 100, burst: 1, eventIdx });
      expect(run.stderr).toMatch(
        new RegExp(`^ok calls=100 .*event_idx=${Number(eventIdx)} indirect=1`),
      );
      expect(run.code).toBe(0);
      expect(run.server.metrics.messages).toBe(100);
      expect(run.reasons.map((r) => r.code)).toEqual(['DISCONNECTED']); // the driver's reset
    }
  });

  it('serves bursts of calls, direct and indirect chains, across the 16-entry ring many times', async () => {
    const run = await runDriver({ calls: 800, burst: 8, eventIdx: true });
    expect(run.stderr).toMatch(/^ok calls=800 /);
    expect(run.code).toBe(0);
    expect(run.server.metrics.messages).toBe(800);
    const kicks = Number(/kicks=(\d+)/.exec(run.stderr)![1]);
    expect(kicks).toBeLessThanOrEqual(800 / 8 + 1);
  });

  it('keeps in step with the C driver across the 16-bit index wrap', async () => {
    const run = await runDriver({ calls: 66_000, burst: 8, eventIdx: true });
    expect(run.stderr).toMatch(/^ok calls=66000 /);
    expect(run.code).toBe(0);
    expect(run.server.metrics.messages).toBe(66_000);
  });

  it('refuses a C driver that makes a head index outside the table, and says why', async () => {
    const run = await runDriver({ calls: 10, burst: 1, eventIdx: true, hostile: true });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/NEEDS_RESET fault=2 after 2 calls/); // head-out-of-range
    expect(run.server.fault).toBe('head-out-of-range');
    expect(run.reasons[0]).toBeInstanceOf(VrdmaError);
    expect(run.reasons[0]!.code).toBe('TRANSPORT');
  });

  it('also serves a driver on a plain shared file through pread/pwrite, without the add-on', async () => {
    for (const burst of [1, 8]) {
      const run = await runDriver({ calls: 200, burst, eventIdx: true, memory: 'file' });
      expect(run.stderr).toMatch(/^ok calls=200 /);
      expect(run.code).toBe(0);
      expect(run.server.metrics.messages).toBe(200);
    }
  });
});

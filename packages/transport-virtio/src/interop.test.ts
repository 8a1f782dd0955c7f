import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type FrameHandler, FrameKind, type Region, VrdmaError } from '@vrdma/api-spec';
import { createMemfdRegion } from '@vrdma/memory';
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

describe.skipIf(!haveCompiler)('interop with a C driver built on <linux/virtio_ring.h>', () => {
  let dir: string;
  let driver: string;

  beforeAll(() => {
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
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Offers the device in fresh shared memory, runs the C driver against it, serves it.
   * `memfd`: transport-shm's sealed memfd, mapped by both sides (the C driver opens it through
   * /proc/<pid>/fd). `file`: an ordinary file under /dev/shm that the host reaches through
   * pread/pwrite (openFileMirror), for hosts without the native add-on.
   */
  async function runDriver(args: {
    calls: number;
    burst: number;
    eventIdx: boolean;
    hostile?: boolean;
    memory?: 'memfd' | 'file';
  }) {
    let path: string;
    let region: Region;
    let port: MemoryPort | undefined;
    let release: () => void;
    if (args.memory === 'file') {
      path = join(dir, `device-${args.calls}-${args.burst}-${Number(args.eventIdx)}`);
      writeFileSync(path, new Uint8Array(1 << 16));
      const mirror = openFileMirror(path);
      ({ region, port } = mirror);
      release = () => mirror.close();
    } else {
      const memfd = createMemfdRegion(1, 1 << 16, 'vrdma-virtio-interop');
      ({ path } = memfd);
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
    const argv = [path, String(args.calls), String(args.burst), args.eventIdx ? '1' : '0'];
    if (args.hostile) argv.push('hostile');
    const child = spawn(driver, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
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

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { createMemfdRegion } from '@vrdma/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoHandler } from './echo-fixture.js';
import { openFileMirror } from './file-memory-port.js';
import type { MemoryPort } from './memory-port.js';
import { createVirtioServerTransport } from './server-transport.js';
import { streamNotificationSource, streamNotifier } from './stream-doorbell.js';

const GUEST = fileURLToPath(new URL('./process-guest.fixture.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

interface GuestReport {
  ids?: number[];
  mismatches?: number;
  metrics?: { messages: number; doorbells: number };
  inFlight?: boolean;
}

describe('virtio transport across OS processes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vrdma-virtio-proc-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The host offers a device in shared memory and starts a guest process against it. */
  function startHost(name: string, memory: 'memfd' | 'file', args: string[]) {
    const size = 1 << 16;
    let path: string;
    let region: Region;
    let port: MemoryPort | undefined;
    let release: () => void;
    if (memory === 'file') {
      path = join(dir, name);
      writeFileSync(path, new Uint8Array(size));
      const mirror = openFileMirror(path);
      ({ region, port } = mirror);
      release = () => mirror.close();
    } else {
      const memfd = createMemfdRegion(1, size, `vrdma-virtio-${name}`);
      ({ path } = memfd);
      region = memfd;
      release = () => memfd.close();
    }
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@vrdma/source', GUEST, path, String(size), memory, ...args],
      { cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'inherit', 'ipc'] },
    );
    child.stdin!.on('error', () => {}); // interrupts to a guest that died are dropped
    const server = createVirtioServerTransport({
      region,
      ...(port ? { port } : {}),
      kicks: streamNotificationSource(child.stdout!),
      interrupts: streamNotifier(child.stdin!),
    });
    const disconnected = new Promise<VrdmaError>((resolve) => server.onDisconnect(resolve));
    const report = new Promise<GuestReport>((resolve, reject) => {
      child.once('message', (m) => resolve(m as GuestReport));
      child.once('exit', (code) => reject(new Error(`guest exited with ${code}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await server.close();
      release();
    };
    return { server, child, report, disconnected, stop };
  }

  for (const memory of ['memfd', 'file'] as const) {
    it(`serves a guest process, one call at a time and in bursts (${memory})`, async () => {
      for (const [calls, burst] of [
        [150, 1],
        [400, 8],
      ] as const) {
        const host = startHost(`rt-${memory}-${burst}`, memory, [String(calls), String(burst)]);
        host.server.serve(echoHandler);
        try {
          const report = await host.report;
          expect(report.mismatches).toBe(0);
          expect(report.ids).toEqual(Array.from({ length: calls }, (_, i) => i + 1));
          expect(host.server.metrics.messages).toBe(calls);
          expect((await host.disconnected).code).toBe('DISCONNECTED'); // the guest's reset
        } finally {
          await host.stop();
        }
      }
    });
  }

  it('sees a guest killed mid-call as a clean disconnect and keeps running', async () => {
    const host = startHost('killed', 'memfd', ['1', '1', 'hang']);
    host.server.serve(() => new Promise<Uint8Array>(() => {}));
    try {
      expect((await host.report).inFlight).toBe(true);
      host.child.kill('SIGKILL');
      const reason = await host.disconnected;
      expect(reason).toBeInstanceOf(VrdmaError);
      expect(reason.code).toBe('DISCONNECTED');
    } finally {
      await host.stop();
    }
  });
});

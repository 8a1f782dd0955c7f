import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VrdmaError } from '@vrdma/api-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoHandler } from './echo-fixture.js';
import { openFileMirror } from './file-memory-port.js';
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

describe('virtio transport across OS processes (shared file)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vrdma-virtio-proc-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function startHost(name: string, args: string[]) {
    const file = join(dir, name);
    writeFileSync(file, new Uint8Array(1 << 16));
    const mirror = openFileMirror(file);
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@vrdma/source', GUEST, file, ...args],
      { cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'inherit', 'ipc'] },
    );
    child.stdin!.on('error', () => {}); // interrupts to a guest that died are dropped
    const server = createVirtioServerTransport({
      region: mirror.region,
      port: mirror.port,
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
      mirror.close();
    };
    return { server, child, report, disconnected, stop };
  }

  it('serves a guest process, one call at a time and in bursts', async () => {
    for (const [calls, burst] of [
      [150, 1],
      [400, 8],
    ] as const) {
      const host = startHost(`rt-${burst}`, [String(calls), String(burst)]);
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

  it('sees a guest killed mid-call as a clean disconnect and keeps running', async () => {
    const host = startHost('killed', ['1', '1', 'hang']);
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

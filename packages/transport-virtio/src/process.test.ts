import type { ChildProcess } from 'node:child_process';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { createMemfdRegion } from '@vrdma/memory';
import { describe, expect, it } from 'vitest';
import { forkWithRegions } from './child-with-regions.fixture.js';
import { echoHandler } from './echo-fixture.js';
import { openFileMirror } from './file-memory-port.js';
import type { MemoryPort } from './memory-port.js';
import { createVirtioServerTransport } from './server-transport.js';
import { anonymousSharedFile } from './shared-file.fixture.js';
import { streamNotificationSource, streamNotifier } from './stream-doorbell.js';

const GUEST = new URL('./process-guest.fixture.ts', import.meta.url);

interface GuestReport {
  ids?: number[];
  mismatches?: number;
  metrics?: { messages: number; doorbells: number };
  inFlight?: boolean;
}

describe('virtio transport across OS processes, memory passed as a descriptor', () => {
  /**
   * The host offers a device in memory it created, sends the guest process that memory as a
   * descriptor over their socket pair and keeps no descriptor of a memfd; kicks and
   * interrupts are bytes on that socket.
   */
  function startHost(memory: 'memfd' | 'file', args: string[]) {
    const size = 1 << 16;
    let region: Region;
    let port: MemoryPort | undefined;
    let release: () => void;
    let child: ChildProcess;
    let socket: ReturnType<typeof forkWithRegions>['socket'];
    if (memory === 'file') {
      const fd = anonymousSharedFile(size);
      ({ child, socket } = forkWithRegions(GUEST, args, [{ id: 1, size, kind: 'file' }], [fd]));
      const mirror = openFileMirror(fd);
      ({ region, port } = mirror);
      release = () => mirror.close();
    } else {
      const memfd = createMemfdRegion(1, size, 'vrdma-virtio-process');
      ({ child, socket } = forkWithRegions(
        GUEST,
        args,
        [{ id: 1, size, kind: 'memfd' }],
        [memfd.fd],
      ));
      memfd.close(); // the mapping stays; the guest has its own descriptor
      region = memfd;
      release = () => {};
    }
    const server = createVirtioServerTransport({
      region,
      ...(port ? { port } : {}),
      kicks: streamNotificationSource(socket),
      interrupts: streamNotifier(socket),
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
        const host = startHost(memory, [String(calls), String(burst)]);
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

  it('sees a guest killed mid-call as a clean disconnect, by its socket closing', async () => {
    const host = startHost('memfd', ['1', '1', 'hang']);
    host.server.serve(() => new Promise<Uint8Array>(() => {}));
    try {
      expect((await host.report).inFlight).toBe(true);
      host.child.kill('SIGKILL');
      const reason = await host.disconnected;
      expect(reason).toBeInstanceOf(VrdmaError);
      expect(reason.code).toBe('DISCONNECTED');
      expect(reason.message).toMatch(/doorbell closed/);
    } finally {
      await host.stop();
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shortFingerprint } from '@vrdma/api-spec';
import { unimemSpec } from '@vrdma/unimem-api';
import { runPingPong, verbsSpec } from '@vrdma/verbs-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRemoteDevice } from '../compose/remote-device.js';
import { remoteVerbsEngine } from '../testing/remote-verbs-engine.js';
import { CLI_TEST_TIMEOUT_MS, runCli, startCli, waitForOutput } from '../testing/run-cli.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-host-apis-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const named = (spec: typeof unimemSpec | typeof verbsSpec) =>
  `${spec.name} v${spec.version} (${shortFingerprint(spec.fingerprint)})`;

describe('vrdma host and its APIs', () => {
  it(
    'serves Unimem and verbs guests at once by default',
    async () => {
      const socket = join(dir, 'host.sock');
      const host = startCli(['host', '--socket', socket]);
      try {
        const line = await waitForOutput(host, 'listening on');
        expect(line).toContain(`serves ${named(unimemSpec)}, ${named(verbsSpec)}`);
        const unimem = await openRemoteDevice(socket, {
          label: 'unimem-guest',
          memoryBytes: 1 << 20,
        });
        const engine = remoteVerbsEngine(0, socket, 1 << 20);
        const a = engine.openSession({ label: 'verbs-a' });
        const b = engine.openSession({ label: 'verbs-b' });
        await a.open();
        await b.open();
        // Both verbs guests are on the host's node: their queue pairs connect there.
        const [buffer, pingPong] = await Promise.all([
          unimem.alloc({ size: 4096 }),
          runPingPong(a, b, { sizes: [1, 4096], rounds: 1 }),
        ]);
        expect(buffer.ref.length).toBe(4096);
        expect(
          [...pingPong.a.steps, ...pingPong.b.steps].every((s) => s.status === 'success'),
        ).toBe(true);
        expect(pingPong.a.bytesVerified).toBe(2 * 4097);
        await Promise.all([a.dispose(), b.dispose(), unimem.dispose()]);
      } finally {
        host.kill('SIGKILL');
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'serves only the APIs --api names, and refuses an unknown one as a usage error',
    async () => {
      const socket = join(dir, 'verbs-only.sock');
      const host = startCli(['host', '--socket', socket, '--api', 'verbs']);
      try {
        const line = await waitForOutput(host, 'listening on');
        expect(line).toContain(`serves ${named(verbsSpec)})`);
        await expect(
          openRemoteDevice(socket, { label: 'unimem-guest', memoryBytes: 1 << 20 }),
        ).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
      } finally {
        host.kill('SIGKILL');
      }
      const bad = await runCli(['host', '--socket', socket, '--api', 'unimem,rdma-cm']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('expected some of unimem, verbs');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

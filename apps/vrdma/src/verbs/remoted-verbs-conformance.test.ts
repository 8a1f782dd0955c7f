import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeVerbsConformance } from '@vrdma/verbs-api/testing';
import { afterAll } from 'vitest';
import { remoteVerbsEngine } from '../testing/remote-verbs-engine.js';

const HOST = fileURLToPath(new URL('../testing/verbs-conformance-host.ts', import.meta.url));

/**
 * A host process serving Unimem and verbs on two emulated nodes, one socket each; this process
 * attaches to it as process guests (a guest cannot attach to a host in its own process). Every
 * status of the suite, wrong rkey, deregistered region, wrong state, foreign PD, flush, comes
 * back through frontend, virtio, the shm rings and the backend.
 */
async function startRemotedFabric() {
  const dir = mkdtempSync(join(tmpdir(), 'vrdma-verbs-conformance-'));
  const host: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@vrdma/source', HOST, '2', dir],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const sockets = await new Promise<Array<{ node: number; path: string }>>((resolve, reject) => {
    let out = '';
    host.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))).sockets);
    });
    host.once('exit', (code) => reject(new Error(`the host exited with ${code} before serving`)));
  });
  return {
    engines: sockets.map((s) => remoteVerbsEngine(s.node, s.path)),
    teardown: async () => {
      const exited = new Promise((resolve) => host.once('exit', resolve));
      host.stdin!.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let started: ReturnType<typeof startRemotedFabric> | undefined;
afterAll(async () => {
  if (started) await (await started).teardown();
});

describeVerbsConformance({
  name: 'engine-verbs remoted to process guests (frontend, virtio + shm, backend)',
  setup: async () => {
    started ??= startRemotedFabric();
    return { engines: (await started).engines, teardown: async () => {} };
  },
});

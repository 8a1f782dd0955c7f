import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeUnimemConformance } from '@vrdma/unimem-api/testing';
import { afterAll } from 'vitest';
import { remoteEngine } from '../testing/remote-engine.js';

const HOST = fileURLToPath(new URL('../testing/conformance-host.ts', import.meta.url));

/**
 * A host process serving `nodes` emulated nodes, one socket each; the engines returned are
 * this process attaching to them as a process guest: frontend, virtio and the shm ring over
 * descriptors the host sent, backend, engine.
 */
async function startRemotedCluster(kind: 'mock' | 'unimem', nodes: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vrdma-conformance-'));
  const host: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@vrdma/source', HOST, kind, String(nodes), dir],
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
    engines: sockets.map((s) => remoteEngine(s.node, s.path)),
    teardown: async () => {
      const exited = new Promise((resolve) => host.once('exit', resolve));
      host.stdin!.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One host process per engine for the whole suite: each test's sessions are guests that
 * attach and depart (the host releases what they held), as applications come and go.
 */
function sharedCluster(kind: 'mock' | 'unimem', nodes: number) {
  let started: ReturnType<typeof startRemotedCluster> | undefined;
  afterAll(async () => {
    if (started) await (await started).teardown();
  });
  return async () => {
    started ??= startRemotedCluster(kind, nodes);
    return { engines: (await started).engines, teardown: async () => {} };
  };
}

for (const kind of ['mock', 'unimem'] as const) {
  describeUnimemConformance({
    name: `engine-${kind} remoted to process guests (frontend, virtio + shm, backend)`,
    setup: sharedCluster(kind, 2),
  });
}

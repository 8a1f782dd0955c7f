import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host } from '@vrdma/backend';
import { entryPoint } from './entry-point.js';
import type { GuestHandle } from './guest-handle.js';
import { WorkloadClient } from './guest-rpc.js';
import { type AttachServer, listenForGuests } from './process-host.js';

const servers = new WeakMap<Host, Promise<{ server: AttachServer; dir: string }>>();

/** One attach socket per host, in a private temporary directory, removed when the host closes. */
function attachServerOf(host: Host): Promise<AttachServer> {
  let made = servers.get(host);
  if (!made) {
    made = (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vrdma-'));
      const server = await listenForGuests(host, join(dir, 'host.sock'));
      return { server, dir };
    })();
    servers.set(host, made);
  }
  return made.then(({ server }) => server);
}

/** Closes the attach socket `startProcessGuest` opened for `host`, if any. */
export async function closeAttachServer(host: Host): Promise<void> {
  const made = servers.get(host);
  if (!made) return;
  servers.delete(host);
  const { server, dir } = await made;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts a guest in its own OS process that attaches to `host` through its socket, as an
 * independently started guest would, and runs workloads sent over the IPC channel.
 */
export async function startProcessGuest(
  host: Host,
  options: { label: string; memoryBytes: number },
): Promise<GuestHandle> {
  const server = await attachServerOf(host);
  const { process: entry } = entryPoint('guest-process');
  const child: ChildProcess = spawn(
    process.execPath,
    [...entry.execArgv, entry.path, server.path, options.label, String(options.memoryBytes)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced', // workloads carry bigint global addresses
    },
  );
  const attachedPromise = server.nextAttached(options.label);
  const client = new WorkloadClient((message) => child.send(message));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onFirst = (message: unknown) => {
      if (!client.receive(message)) return;
      child.off('message', onFirst);
      child.on('message', (m: unknown) => client.receive(m));
      resolve();
    };
    child.on('message', onFirst);
    child.once('exit', (code) =>
      reject(new Error(`guest ${options.label} exited with code ${code} before it was ready`)),
    );
  });
  void exited.then(() => client.failAll(new Error(`guest ${options.label} is gone`)));
  const attached = await attachedPromise;
  return {
    label: options.label,
    attached,
    run: (request) => client.run(request),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      await attached.departed;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await attached.departed;
    },
  };
}

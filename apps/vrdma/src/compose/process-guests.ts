import { type ChildProcess, spawn } from 'node:child_process';
import type { AttachSocket } from './attach-socket.js';
import { entryPoint } from './entry-point.js';
import type { GuestHandle } from './guest-handle.js';
import { WorkloadClient } from './guest-rpc.js';

/**
 * Starts a guest in its own OS process that attaches through the host's `socket`, as an
 * independently started guest would, and runs workloads sent over the IPC channel. Resolves
 * once the host has attached it and the guest has opened its device.
 */
export async function startProcessGuest(
  socket: AttachSocket,
  options: { label: string; memoryBytes: number },
): Promise<GuestHandle> {
  const arrival = socket.arrival(options.label);
  const { process: entry } = entryPoint('guest-process');
  const child: ChildProcess = spawn(
    process.execPath,
    [...entry.execArgv, entry.path, socket.path, options.label, String(options.memoryBytes)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced', // workloads carry bigint global addresses
    },
  );
  const client = new WorkloadClient((message) => child.send(message));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
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
  } catch (error) {
    arrival.cancel();
    throw error;
  }
  void exited.then(() => client.failAll(new Error(`guest ${options.label} is gone`)));
  // The host attached the guest before the guest could open its device and say it is ready.
  const attached = await arrival.attached;
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

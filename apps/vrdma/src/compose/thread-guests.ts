import { Worker } from 'node:worker_threads';
import { attachWorker, type Host } from '@vrdma/backend';
import { entryPoint } from './entry-point.js';
import type { GuestHandle } from './guest-handle.js';
import { WorkloadClient } from './guest-rpc.js';

export interface ThreadGuestOptions {
  label: string;
  /** Bytes of the guest's shared memory (its buffers live there). */
  memoryBytes: number;
  weight?: number;
}

/**
 * Starts a guest in a worker thread and attaches it to `host` (the backend's `attachWorker`:
 * memory, virtqueue and ring posted to the worker). Resolves once the guest has said hello
 * and opened its device.
 */
export async function startThreadGuest(
  host: Host,
  options: ThreadGuestOptions,
): Promise<GuestHandle> {
  const { worker: entry } = entryPoint('guest-thread');
  const worker = new Worker(entry.path, {
    execArgv: entry.execArgv,
    workerData: { ...entry.data, label: options.label },
  });
  const attached = attachWorker(host, worker, {
    label: options.label,
    memoryBytes: options.memoryBytes,
    weight: options.weight,
  });
  const client = new WorkloadClient((message) => worker.postMessage(message));

  // The guest's first message says it is attached and open; from then on, answers to workloads.
  await new Promise<void>((resolve, reject) => {
    const onFirst = (message: unknown) => {
      if (!client.receive(message)) return;
      worker.off('message', onFirst);
      worker.on('message', (m: unknown) => client.receive(m));
      resolve();
    };
    worker.on('message', onFirst);
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`guest ${options.label} exited with code ${code} before it was ready`)),
    );
  });
  // A crashed worker is a departed guest (the transports see it); its pending workloads fail.
  worker.on('error', (error) =>
    client.failAll(new Error(`guest ${options.label} crashed: ${error.message}`)),
  );
  worker.on('exit', () => client.failAll(new Error(`guest ${options.label} is gone`)));

  return {
    label: options.label,
    attached,
    run: (request) => client.run(request),
    kill: async () => {
      await worker.terminate();
      await attached.departed;
    },
    stop: async () => {
      await attached.detach();
      await worker.terminate();
    },
  };
}

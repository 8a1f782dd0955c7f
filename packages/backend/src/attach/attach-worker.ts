import type { Worker } from 'node:worker_threads';
import type { WorkerMemoryMessage } from '@vrdma/api-spec';
import { createSharedRegion } from '@vrdma/memory';
import { attachThreadGuest } from '@vrdma/transport-shm';
import { attachVirtioThreadGuest } from '@vrdma/transport-virtio';
import type { AttachedGuest, Host } from '../host.js';
import { nextRegionIds } from './region-ids.js';

export interface AttachWorkerOptions {
  label?: string;
  /** Bytes of shared memory for the guest's buffers (0 for an API without buffers). */
  memoryBytes: number;
  weight?: number;
}

/**
 * Attaches the guest running in `worker` (which calls the frontend's `connectInWorker`): its
 * memory is a SharedArrayBuffer, its control plane a virtqueue and its data plane a polled
 * ring, all posted to the worker. The worker's exit is the guest's departure.
 */
export function attachWorker(
  host: Host,
  worker: Worker,
  options: AttachWorkerOptions,
): AttachedGuest {
  const ids = nextRegionIds();
  const memory =
    options.memoryBytes > 0 ? createSharedRegion(ids.memory, options.memoryBytes) : undefined;
  const message: WorkerMemoryMessage = {
    vrdmaGuestMemory: memory
      ? { id: memory.id, buffer: memory.bytes.buffer as SharedArrayBuffer }
      : null,
  };
  // All three in this turn: the worker listens for them together.
  worker.postMessage(message);
  const data = attachThreadGuest(worker);
  const control = attachVirtioThreadGuest(worker, { regionId: ids.control });
  return host.attach({
    label: options.label,
    weight: options.weight,
    control,
    data: data.transport,
    memory,
  });
}

import type { UnimemSession } from '@vrdma/unimem-api';
import { runWorkload, type TransportCounters } from '../workloads/requests.js';
import { isWorkloadMessage, type WorkloadMessage } from './guest-rpc.js';

/** Where a guest hears from the deployment that started it: a worker port, a process IPC channel. */
export interface WorkloadChannel {
  send(message: WorkloadMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/**
 * Inside a guest whose device is open: runs every workload the channel brings and answers it,
 * after a first answer (workload 0, its transport counters) that says the guest is ready.
 */
export function serveWorkloads(
  device: UnimemSession,
  channel: WorkloadChannel,
  counters: () => TransportCounters,
): void {
  channel.onMessage((message) => {
    if (!isWorkloadMessage(message) || !message.request) return;
    const id = message.vrdmaWorkload;
    runWorkload(device, message.request, counters).then(
      (result) => channel.send({ vrdmaWorkload: id, result }),
      (error: unknown) => channel.send({ vrdmaWorkload: id, error: String(error) }),
    );
  });
  channel.send({ vrdmaWorkload: 0, result: { kind: 'transport-counters', counters: counters() } });
}

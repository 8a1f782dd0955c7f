import { type Connection, connectToHost } from '@vrdma/frontend';
import {
  type RemoteUnimemSession,
  type UnimemSpec,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import type { TransportCounters } from '../workloads/requests.js';

export interface AttachedDevice {
  device: RemoteUnimemSession<Connection<UnimemSpec>>;
  counters(): TransportCounters;
}

/**
 * From a guest process: attaches to the vrdma host listening at `path` (the frontend's
 * `connectToHost`: its memory arrives as descriptors) and returns the Unimem device, opened.
 * Fails with a clear error when nobody listens there or the host refuses.
 */
export async function attachToHost(
  path: string,
  options: { label: string; memoryBytes: number; timeoutMs?: number },
): Promise<AttachedDevice> {
  const connection = await connectToHost({
    spec: unimemSpec,
    path,
    label: options.label,
    memoryBytes: options.memoryBytes,
    timeoutMs: options.timeoutMs,
  });
  const device = unimemSession(connection);
  await device.open();
  const { control, data } = connection.metrics;
  return {
    device,
    counters: () => ({
      control: { messages: control.messages, doorbells: control.doorbells },
      data: { messages: data?.messages ?? 0, doorbells: data?.doorbells ?? 0 },
    }),
  };
}

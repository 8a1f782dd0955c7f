import { createConnection } from 'node:net';
import { VrdmaError } from '@vrdma/api-spec';
import { type Connection, connect } from '@vrdma/frontend';
import { openMappedRegion } from '@vrdma/memory';
import { connectToProcessHost } from '@vrdma/transport-shm';
import {
  createVirtioClientTransport,
  streamNotificationSource,
  streamNotifier,
} from '@vrdma/transport-virtio';
import {
  type RemoteUnimemSession,
  type UnimemSpec,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import type { TransportCounters } from '../workloads/requests.js';
import {
  ATTACH_PROTOCOL_VERSION,
  errorSchema,
  readFirstLine,
  welcomeSchema,
} from './attach-protocol.js';

export interface AttachedDevice {
  device: RemoteUnimemSession<Connection<UnimemSpec>>;
  counters(): TransportCounters;
}

/**
 * From a guest process: attaches to the vrdma host listening at `path` and returns the Unimem
 * device, opened. Fails with a clear error when nobody listens there or the host refuses.
 */
export async function attachToHost(
  path: string,
  options: { label: string; memoryBytes: number; timeoutMs?: number },
): Promise<AttachedDevice> {
  const socket = createConnection(path);
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new VrdmaError(
          'DISCONNECTED',
          error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
            ? `no vrdma host listens at ${path}`
            : `cannot reach the host at ${path}: ${error.message}`,
        ),
      ),
    );
  });
  await connected;
  socket.write(
    `${JSON.stringify({ type: 'attach', version: ATTACH_PROTOCOL_VERSION, label: options.label, memoryBytes: options.memoryBytes })}\n`,
  );
  const { line, rest } = await readFirstLine(socket);
  const answer = JSON.parse(line) as unknown;
  const refused = errorSchema.safeParse(answer);
  if (refused.success) {
    socket.destroy();
    throw new VrdmaError('TRANSPORT', `the host refused: ${refused.data.message}`);
  }
  const welcome = welcomeSchema.parse(answer);
  const memory = openMappedRegion(welcome.memory.id, welcome.memory.path, welcome.memory.size);
  const controlRegion = openMappedRegion(
    0x4000_0000 + welcome.memory.id,
    welcome.control.path,
    welcome.control.size,
  );
  const control = createVirtioClientTransport({
    region: controlRegion,
    kicks: streamNotifier(socket),
    interrupts: streamNotificationSource(socket),
  });
  if (rest.length > 0) socket.emit('data', rest);
  const data = await connectToProcessHost(welcome.data, { token: welcome.token });
  const device = unimemSession(
    await connect({
      spec: unimemSpec,
      control,
      data: data.transport,
      memory,
      label: options.label,
      timeoutMs: options.timeoutMs,
    }),
  );
  await device.open();
  return {
    device,
    counters: () => ({
      control: { messages: control.metrics.messages, doorbells: control.metrics.doorbells },
      data: {
        messages: data.transport.metrics.messages,
        doorbells: data.transport.metrics.doorbells,
      },
    }),
  };
}

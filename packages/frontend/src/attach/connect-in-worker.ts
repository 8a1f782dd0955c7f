import { parentPort } from 'node:worker_threads';
import { type ApiSpec, isWorkerMemoryMessage, type Region, VrdmaError } from '@vrdma/api-spec';
import { connectToThreadHost } from '@vrdma/transport-shm';
import { connectToVirtioThreadHost } from '@vrdma/transport-virtio';
import { type Connection, type ConnectOptions, connect } from '../connect.js';

export type ConnectInWorkerOptions<S extends ApiSpec> = Omit<
  ConnectOptions<S>,
  'control' | 'data' | 'memory'
>;

/**
 * Inside a worker thread the host attached (the backend's `attachWorker`): takes the memory,
 * the virtqueue and the ring the host posts, and connects the API over them.
 */
export async function connectInWorker<S extends ApiSpec>(
  options: ConnectInWorkerOptions<S>,
): Promise<Connection<S>> {
  const port = parentPort;
  if (!port) throw new VrdmaError('TRANSPORT', 'connectInWorker runs inside a worker thread');
  // All three listen from this turn on: the host posts them together.
  const memory = new Promise<Region | undefined>((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isWorkerMemoryMessage(message)) return;
      port.off('message', onMessage);
      const given = message.vrdmaGuestMemory;
      resolve(
        given
          ? { id: given.id, size: given.buffer.byteLength, bytes: new Uint8Array(given.buffer) }
          : undefined,
      );
    };
    port.on('message', onMessage);
  });
  const [region, data, control] = await Promise.all([
    memory,
    connectToThreadHost(),
    connectToVirtioThreadHost(),
  ]);
  return connect({ ...options, control, data: data.transport, memory: region });
}

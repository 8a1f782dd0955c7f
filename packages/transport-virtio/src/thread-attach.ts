import { type MessagePort, parentPort, type Worker } from 'node:worker_threads';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { createSharedRegion } from '@vrdma/memory';
import {
  createVirtioClientTransport,
  type VirtioClientOptions,
  type VirtioClientTransport,
} from './client-transport.js';
import {
  createVirtioServerTransport,
  type VirtioServerOptions,
  type VirtioServerTransport,
} from './server-transport.js';
import { threadShmDoorbell } from './shm-doorbell.js';

interface AttachMessage {
  vrdmaVirtio: 'attach';
  id: number;
  memory: SharedArrayBuffer;
}

function isAttachMessage(message: unknown): message is AttachMessage {
  const m = message as Partial<AttachMessage> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.vrdmaVirtio === 'attach' &&
    typeof m.id === 'number' &&
    m.memory instanceof SharedArrayBuffer
  );
}

export interface VirtioThreadHostOptions
  extends Omit<VirtioServerOptions, 'region' | 'kicks' | 'interrupts' | 'port'> {
  /** Region id (default 1) and size (default 512 KiB). */
  readonly regionId?: number;
  readonly regionBytes?: number;
}

/**
 * Host side for a guest in `worker` (which calls `connectToVirtioThreadHost()`): creates the
 * guest's region, offers the device in it, sends it over with transport-shm doorbells on its
 * configuration words. The worker's exit (ended, crashed, terminated) is the guest's disconnect.
 */
export function attachVirtioThreadGuest(
  worker: Worker,
  options: VirtioThreadHostOptions = {},
): VirtioServerTransport {
  const region = createSharedRegion(options.regionId ?? 1, options.regionBytes ?? 1 << 19);
  const bell = threadShmDoorbell(region, 'device');
  const server = createVirtioServerTransport({ ...options, region, kicks: bell, interrupts: bell });
  const onExit = (code: number) =>
    server.detach(new VrdmaError('DISCONNECTED', `guest thread exited with code ${code}`));
  worker.once('exit', onExit);
  server.onDisconnect(() => worker.off('exit', onExit));
  const message: AttachMessage = {
    vrdmaVirtio: 'attach',
    id: region.id,
    memory: region.bytes.buffer as SharedArrayBuffer,
  };
  worker.postMessage(message);
  return server;
}

export interface VirtioThreadGuestOptions
  extends Omit<VirtioClientOptions, 'region' | 'kicks' | 'interrupts' | 'port'> {
  /** The message port to the host; the worker's parentPort by default. */
  readonly hostPort?: MessagePort;
}

/** Inside a worker: waits for the host's region and attaches the virtio driver to it. */
export function connectToVirtioThreadHost(
  options: VirtioThreadGuestOptions = {},
): Promise<VirtioClientTransport> {
  const { hostPort, ...clientOptions } = options;
  const port = hostPort ?? parentPort;
  if (!port) {
    return Promise.reject(
      new VrdmaError('TRANSPORT', 'connectToVirtioThreadHost runs inside a worker thread'),
    );
  }
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isAttachMessage(message)) return;
      port.off('message', onMessage);
      try {
        const region: Region = {
          id: message.id,
          size: message.memory.byteLength,
          bytes: new Uint8Array(message.memory),
        };
        const bell = threadShmDoorbell(region, 'driver');
        resolve(
          createVirtioClientTransport({ ...clientOptions, region, kicks: bell, interrupts: bell }),
        );
      } catch (error) {
        reject(VrdmaError.from(error, 'TRANSPORT'));
      }
    };
    port.on('message', onMessage);
  });
}

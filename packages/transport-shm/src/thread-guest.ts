import { type MessagePort, parentPort } from 'node:worker_threads';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { atomicsWakeChannel, createSharedRegion } from '@vrdma/memory';
import { Word } from './channel-layout.js';
import { GuestEndpoint } from './guest-endpoint.js';
import type { PollOptions } from './poller.js';
import { isThreadMessage } from './thread-messages.js';

/** What a guest holds: its transport, and the way to share a region with the host. */
export interface HostConnection {
  readonly transport: GuestEndpoint;
  /**
   * A new region of `size` bytes shared with the host, known to it under `id` once this
   * resolves: buffer references may name it from then on.
   */
  createRegion(id: number, size: number): Promise<Region>;
}

/** Between threads the guest owns its regions (SharedArrayBuffers) and registers them. */
export interface ThreadHostConnection extends HostConnection {
  /** Makes an existing region known to the host. */
  registerRegion(region: Region): Promise<void>;
}

export interface ThreadGuestOptions {
  /** The port to the host; the worker's parentPort by default. */
  port?: MessagePort;
  poll?: PollOptions;
}

/** Inside a worker: waits for the host's channel and returns the guest's connection. */
export function connectToThreadHost(
  options: ThreadGuestOptions = {},
): Promise<ThreadHostConnection> {
  const port = options.port ?? parentPort;
  if (!port) {
    return Promise.reject(
      new VrdmaError('TRANSPORT', 'connectToThreadHost runs inside a worker thread'),
    );
  }
  return new Promise((resolve) => {
    const acks = new Map<number, { resolve(): void; reject(error: VrdmaError): void }>();
    let transport: GuestEndpoint | undefined;
    const onMessage = (message: unknown) => {
      if (!isThreadMessage(message)) return;
      switch (message.vrdmaShm) {
        case 'attach': {
          const words = new Int32Array(message.channel, 0, 16);
          transport = new GuestEndpoint(
            message.channel,
            atomicsWakeChannel(words, Word.GuestSleeps, Word.HostSleeps),
            options.poll,
          );
          transport.onTeardown(() => {
            port.off('message', onMessage);
            for (const ack of acks.values()) ack.reject(new VrdmaError('DISCONNECTED', 'detached'));
            acks.clear();
          });
          resolve({ transport, registerRegion, createRegion });
          return;
        }
        case 'region-ack': {
          const ack = acks.get(message.id);
          acks.delete(message.id);
          if (message.error) ack?.reject(new VrdmaError('INVALID_ARGUMENT', message.error));
          else ack?.resolve();
          return;
        }
        case 'detach':
          transport?.fail(new VrdmaError('DISCONNECTED', 'the host detached this guest'));
          return;
      }
    };
    const registerRegion = (region: Region): Promise<void> => {
      const memory = region.bytes.buffer;
      if (!(memory instanceof SharedArrayBuffer) || region.bytes.byteOffset !== 0) {
        return Promise.reject(
          new VrdmaError('INVALID_ARGUMENT', 'a thread region must span a whole SharedArrayBuffer'),
        );
      }
      if (acks.has(region.id)) {
        return Promise.reject(
          new VrdmaError('INVALID_ARGUMENT', `region ${region.id} is being registered`),
        );
      }
      return new Promise((resolveAck, rejectAck) => {
        acks.set(region.id, { resolve: resolveAck, reject: rejectAck });
        port.postMessage({ vrdmaShm: 'region', id: region.id, memory });
      });
    };
    const createRegion = async (id: number, size: number): Promise<Region> => {
      const region = createSharedRegion(id, size);
      await registerRegion(region);
      return region;
    };
    port.on('message', onMessage);
  });
}

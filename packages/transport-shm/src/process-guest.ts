import { createConnection } from 'node:net';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { openMappedRegion, SocketWakeChannel } from '@vrdma/memory';
import { GuestEndpoint } from './guest-endpoint.js';
import type { PollOptions } from './poller.js';
import {
  encodeMessage,
  MessageReader,
  PROTOCOL_VERSION,
  type ProcessMessage,
} from './socket-messages.js';
import type { HostConnection } from './thread-guest.js';

export interface ProcessGuestOptions {
  /**
   * An opaque tag passed to the host with the hello, so that a composition can pair this data
   * channel with another one the same guest opened (a control plane, say). At most 128 bytes.
   */
  token?: string;
  poll?: PollOptions;
}

/**
 * From a guest process: connects to a host's UNIX socket, says hello, maps the channel the
 * host created, and returns the connection. The socket's close is the host's disconnect.
 */
export function connectToProcessHost(
  path: string,
  options: ProcessGuestOptions = {},
): Promise<HostConnection> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const wake = new SocketWakeChannel((bytes) => socket.write(bytes));
    const send = (message: ProcessMessage) => socket.write(encodeMessage(message));
    const waiting = new Map<
      number,
      { resolve(region: Region): void; reject(e: VrdmaError): void }
    >();
    let transport: GuestEndpoint | undefined;

    const fail = (reason: VrdmaError) => {
      if (transport) transport.fail(reason);
      else {
        socket.destroy();
        reject(reason);
      }
      for (const wait of waiting.values()) wait.reject(reason);
      waiting.clear();
    };

    const createRegion = (id: number, size: number): Promise<Region> => {
      const gone = transport?.disconnected;
      if (gone) return Promise.reject(gone);
      if (waiting.has(id)) {
        return Promise.reject(new VrdmaError('INVALID_ARGUMENT', `region ${id} is being created`));
      }
      return new Promise<Region>((resolveRegion, rejectRegion) => {
        waiting.set(id, { resolve: resolveRegion, reject: rejectRegion });
        send({ type: 'region', id, size });
      });
    };

    const onMessage = (message: ProcessMessage) => {
      if (message.type === 'welcome' && !transport) {
        const channel = openMappedRegion(-1, message.channel.path, message.channel.size);
        transport = new GuestEndpoint(channel.bytes.buffer, wake, options.poll);
        transport.onTeardown(() => socket.destroy());
        resolve({ transport, createRegion });
        return;
      }
      if (message.type === 'region-ready') {
        const wait = waiting.get(message.id);
        waiting.delete(message.id);
        if (!wait) return;
        if (message.error || !message.path || !message.size) {
          wait.reject(new VrdmaError('INVALID_ARGUMENT', message.error ?? 'no region'));
        } else {
          try {
            wait.resolve(openMappedRegion(message.id, message.path, message.size));
          } catch (error) {
            wait.reject(VrdmaError.from(error, 'TRANSPORT'));
          }
        }
      }
    };

    const reader = new MessageReader(
      (count) => wake.received(count),
      (message) => onMessage(message as ProcessMessage),
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.feed(chunk);
      } catch (error) {
        fail(VrdmaError.from(error, 'TRANSPORT'));
      }
    });
    socket.on('connect', () =>
      send({
        type: 'hello',
        version: PROTOCOL_VERSION,
        pid: process.pid,
        ...(options.token ? { token: options.token } : {}),
      }),
    );
    socket.on('error', (error) => {
      if (!transport)
        fail(new VrdmaError('DISCONNECTED', `cannot reach the host at ${path}`, { cause: error }));
    });
    socket.once('close', () =>
      fail(new VrdmaError('DISCONNECTED', 'the host closed the connection')),
    );
  });
}

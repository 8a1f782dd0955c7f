import { createServer, type Server, type Socket } from 'node:net';
import { VrdmaError } from '@vrdma/api-spec';
import {
  createMemfdRegion,
  type MemfdRegion,
  nativeMemory,
  RegionRegistry,
  SocketWakeChannel,
} from '@vrdma/memory';
import { channelBytes, initChannel } from './channel-layout.js';
import { HostEndpoint } from './host-endpoint.js';
import { DEFAULT_RING_SHAPE } from './ring.js';
import {
  encodeMessage,
  MessageReader,
  PROTOCOL_VERSION,
  type ProcessMessage,
} from './socket-messages.js';
import type { ChannelOptions, GuestConnection } from './thread-host.js';

export interface ProcessHostOptions extends ChannelOptions {
  /** Regions one guest may ask for (default 16). */
  maxRegions?: number;
  /** Largest region a guest may ask for (default 256 MiB). */
  maxRegionBytes?: number;
  /** A connection that has not said hello by then is dropped (default 5000 ms). */
  helloTimeoutMs?: number;
}

export interface ProcessGuestConnection extends GuestConnection {
  /** The pid the guest gave in its hello (informative, not trusted for anything). */
  readonly pid: number;
  /** The guest's pairing tag, if it gave one (see ProcessGuestOptions.token); untrusted input. */
  readonly token?: string;
}

export interface ProcessHost {
  /** The UNIX socket path guests connect to. */
  readonly path: string;
  /** Stops listening and disconnects every guest. */
  close(): Promise<void>;
}

/**
 * Listens on a UNIX socket for guests in other processes, started by the host or on their
 * own. Per guest: a hello, then the host creates the guest's channel and regions in sealed
 * memfds and tells the guest where to map them. The socket then carries doorbells; its close
 * (the guest ended, crashed or was killed) is the guest's disconnect.
 */
export async function listenForProcessGuests(
  path: string,
  onGuest: (guest: ProcessGuestConnection) => void,
  options: ProcessHostOptions = {},
): Promise<ProcessHost> {
  nativeMemory(); // fail now, with what to install, rather than at the first guest
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    acceptGuest(socket, onGuest, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function acceptGuest(
  socket: Socket,
  onGuest: (guest: ProcessGuestConnection) => void,
  options: ProcessHostOptions,
): void {
  const shape = options.shape ?? DEFAULT_RING_SHAPE;
  const maxRegions = options.maxRegions ?? 16;
  const maxRegionBytes = options.maxRegionBytes ?? 256 * 2 ** 20;
  const send = (message: ProcessMessage) => socket.write(encodeMessage(message));
  const owned: MemfdRegion[] = [];
  const regions = new RegionRegistry();
  const wake = new SocketWakeChannel((bytes) => socket.write(bytes));
  let transport: HostEndpoint | undefined;

  const drop = (reason: VrdmaError) => {
    if (transport) transport.fail(reason);
    else {
      socket.destroy();
      for (const region of owned) region.close();
    }
  };
  const helloTimer = setTimeout(
    () => drop(new VrdmaError('TIMEOUT', 'no hello from the guest')),
    options.helloTimeoutMs ?? 5000,
  );
  helloTimer.unref();

  const onHello = (message: Record<string, unknown>) => {
    if (message.type !== 'hello' || message.version !== PROTOCOL_VERSION) {
      throw new VrdmaError('TRANSPORT', `expected a hello of version ${PROTOCOL_VERSION}`);
    }
    clearTimeout(helloTimer);
    const channel = createMemfdRegion(-1, channelBytes(shape), 'vrdma-channel');
    owned.push(channel);
    initChannel(channel.bytes.buffer, shape, options.startIndex);
    transport = new HostEndpoint(channel.bytes.buffer, shape, wake, options.poll);
    const pid = Number.isSafeInteger(message.pid) ? (message.pid as number) : 0;
    const token =
      typeof message.token === 'string' && message.token.length <= 128 ? message.token : undefined;
    transport.onTeardown(() => {
      socket.destroy();
      regions.clear();
      for (const region of owned) region.close();
    });
    send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      channel: { path: channel.path, size: channel.size },
    });
    onGuest({ transport, regions, pid, token });
  };

  const onRegion = (message: Record<string, unknown>) => {
    const { id, size } = message;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffff_ffff) {
      throw new VrdmaError('TRANSPORT', 'a region request without a valid id');
    }
    try {
      if (
        typeof size !== 'number' ||
        !Number.isInteger(size) ||
        size <= 0 ||
        size > maxRegionBytes
      ) {
        throw new VrdmaError('INVALID_ARGUMENT', `region size must be 1 … ${maxRegionBytes}`);
      }
      if (regions.ids.length >= maxRegions) {
        throw new VrdmaError('LIMIT_REACHED', `at most ${maxRegions} regions per guest`);
      }
      if (regions.get(id)) throw new VrdmaError('INVALID_ARGUMENT', `region ${id} exists`);
      const region = createMemfdRegion(id, size, `vrdma-region-${id}`);
      owned.push(region);
      regions.register(region);
      send({ type: 'region-ready', id, path: region.path, size });
    } catch (error) {
      send({ type: 'region-ready', id, error: VrdmaError.from(error).message });
    }
  };

  const reader = new MessageReader(
    (count) => wake.received(count),
    (message) => {
      if (typeof message !== 'object' || message === null) {
        throw new VrdmaError('TRANSPORT', 'a set-up message must be an object');
      }
      const record = message as Record<string, unknown>;
      if (!transport) onHello(record);
      else if (record.type === 'region') onRegion(record);
      else throw new VrdmaError('TRANSPORT', `unexpected message ${String(record.type)}`);
    },
  );
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.feed(chunk);
    } catch (error) {
      drop(VrdmaError.from(error, 'TRANSPORT'));
    }
  });
  socket.on('error', () => {
    // 'close' follows and reports the disconnect.
  });
  socket.once('close', () => {
    clearTimeout(helloTimer);
    drop(new VrdmaError('DISCONNECTED', 'the guest process closed its connection'));
  });
}

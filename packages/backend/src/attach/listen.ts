import { createServer, type Server, type Socket } from 'node:net';
import {
  type AttachRequest,
  attachRequestSchema,
  type Region,
  summariseIssues,
  VrdmaError,
  type Welcome,
} from '@vrdma/api-spec';
import { createMemfdRegion, type MemfdRegion, makeNonDumpable, sendRegions } from '@vrdma/memory';
import { channelBytes, DEFAULT_RING_SHAPE, initChannel } from '@vrdma/transport-shm';
import type { AttachedGuest, Host } from '../host.js';
import { processGuestTransports } from './process-guest-transports.js';
import { readFirstLine } from './read-line.js';
import { nextRegionIds } from './region-ids.js';
import { listenOnPath } from './socket-path.js';

export interface ListenOptions {
  /** Where the UNIX socket goes: a path that holds nothing, or a stale socket. */
  path: string;
  /**
   * The socket's permissions (default 0o600, owner-only). 0o660 lets guests of the socket's
   * group attach while they run as users of their own, apart from the operator socket, which
   * stays owner-only. Only owner and group bits are allowed: never the world.
   */
  mode?: number;
  /** Most bytes of shared memory one guest may ask for (default 256 MiB). */
  maxGuestMemory?: number;
  /** Most guests attached through this socket at once (default 64). */
  maxGuests?: number;
  /** Connections that have not finished attaching, at once (default 16); more are refused. */
  maxPendingAttaches?: number;
  /** A connection that has not finished attaching by then is closed (default 5000 ms). */
  attachTimeoutMs?: number;
  /** Called with each guest once it is attached. */
  onAttach?(guest: AttachedGuest): void;
  /**
   * Called when a connection is refused before it attaches, with the one line the peer was
   * sent and the label it asked for (if its request got that far): the host's side of the
   * refusal, for its log.
   */
  onRefuse?(refusal: { reason: string; label?: string }): void;
}

export interface HostListener {
  readonly path: string;
  /** Connections still attaching. */
  readonly pending: number;
  /** Stops listening, closes every connection still attaching, removes the socket it made. */
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
/** The virtqueue's region: its configuration block, rings and buffers for a 64-entry queue. */
const CONTROL_REGION_BYTES = 512 * 1024;

/**
 * Lets guests in other processes attach to `host` through a UNIX socket (protocol in
 * @vrdma/api-spec's attach-protocol): the host creates each guest's memory, virtqueue and
 * data-plane channel as sealed memfds, sends them as descriptors and keeps none; every
 * doorbell is a byte on the guest's socket. The host process makes itself non-dumpable, so
 * other processes cannot reach guest memory through its /proc entries. Every resource a
 * connection can make the host hold is capped.
 */
export async function listen(host: Host, options: ListenOptions): Promise<HostListener> {
  const maxGuestMemory = options.maxGuestMemory ?? 256 * MiB;
  const maxGuests = options.maxGuests ?? 64;
  const maxPending = options.maxPendingAttaches ?? 16;
  const attachTimeoutMs = options.attachTimeoutMs ?? 5_000;
  const mode = options.mode ?? 0o600;
  if (!Number.isInteger(mode) || (mode & ~0o770) !== 0)
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `socket mode ${mode.toString(8)}: only owner and group bits (at most 770) are allowed`,
    );
  makeNonDumpable();
  const sockets = new Set<Socket>();
  let pending = 0;
  let attached = 0;

  const refuse = (socket: Socket, message: string, label?: string, code?: string) => {
    socket.end(`${JSON.stringify({ type: 'error', message, ...(code ? { code } : {}) })}\n`);
    options.onRefuse?.({ reason: message, label });
  };

  const attach = (
    socket: Socket,
    request: Extract<AttachRequest, { type: 'attach' }>,
    rest: Buffer,
  ) => {
    if (request.memoryBytes > maxGuestMemory)
      throw new VrdmaError(
        'QUOTA_EXCEEDED',
        `${request.memoryBytes} bytes of memory asked for; this host gives at most ${maxGuestMemory}`,
      );
    if (attached >= maxGuests)
      throw new VrdmaError('QUOTA_EXCEEDED', `this host serves at most ${maxGuests} guests here`);
    // The label is the guest's own claim: only a token the host grants earns a weight.
    const weight = host.weightOf(request.token);
    const ids = nextRegionIds();
    const made: MemfdRegion[] = [];
    try {
      const control = createMemfdRegion(ids.control, CONTROL_REGION_BYTES, 'vrdma-virtqueue');
      made.push(control);
      const shape = DEFAULT_RING_SHAPE;
      const data = createMemfdRegion(ids.data, channelBytes(shape), 'vrdma-ring');
      made.push(data);
      initChannel(data.bytes.buffer, shape);
      const memory =
        request.memoryBytes > 0
          ? createMemfdRegion(ids.memory, request.memoryBytes, 'vrdma-guest')
          : undefined;
      if (memory) made.push(memory);
      const transports = processGuestTransports(socket, { control, data, shape });
      const welcome: Welcome = {
        type: 'welcome',
        control: { id: control.id, size: control.size },
        data: { id: data.id, size: data.size },
        memory: memory ? { id: memory.id, size: memory.size } : null,
      };
      sendRegions(
        socket,
        Buffer.from(`${JSON.stringify(welcome)}\n`),
        made.map((r) => r.fd),
      );
      const guest = host.attach({
        label: request.label,
        control: transports.control,
        data: transports.data,
        memory: memory && plainRegion(memory),
        weight,
      });
      attached++;
      void guest.departed.then(() => {
        attached--;
        socket.destroy();
      });
      if (rest.length > 0) socket.emit('data', rest);
      options.onAttach?.(guest);
    } finally {
      // The mappings stay; the host keeps no descriptor once the guest has its own.
      for (const region of made) region.close();
    }
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (pending >= maxPending) {
      refuse(socket, `${maxPending} attaches are already under way; try again`);
      return;
    }
    pending++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      pending--;
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      settle();
      socket.destroy();
    }, attachTimeoutMs);
    socket.once('close', settle);
    readFirstLine(socket).then(
      ({ line, rest }) => {
        if (settled) return;
        settle();
        const request = parseRequest(line);
        if (typeof request === 'string') {
          refuse(socket, `bad attach request: ${request}`);
          return;
        }
        if (request.type === 'stats') {
          // Every guest's labels, metrics and audit: for the operator socket only.
          refuse(
            socket,
            "stats are served on the host's operator socket only",
            undefined,
            'PERMISSION_DENIED',
          );
          return;
        }
        try {
          attach(socket, request, rest);
        } catch (error) {
          refuse(socket, firstLineOf(error), request.label, codeOf(error));
        }
      },
      () => {
        settle();
        socket.destroy();
      },
    );
  });

  const claimed = await listenOnPath(server, options.path, mode);
  return {
    path: options.path,
    get pending() {
      return pending;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      claimed.release();
    },
  };
}

/** The region without its descriptor: the host holds the mapping only. */
function plainRegion(region: MemfdRegion): Region {
  return { id: region.id, size: region.size, bytes: region.bytes };
}

function codeOf(error: unknown): string | undefined {
  return error instanceof VrdmaError ? error.code : undefined;
}

/** The request, or what is wrong with it in one line. */
function parseRequest(line: string): AttachRequest | string {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return 'the first line is not JSON';
  }
  const parsed = attachRequestSchema.safeParse(json);
  return parsed.success ? parsed.data : summariseIssues(parsed.error);
}

function firstLineOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 300);
}

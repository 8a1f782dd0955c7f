import { createServer, type Server, type Socket } from 'node:net';
import { attachRequestSchema } from '@vrdma/api-spec';
import type { Host } from '../host.js';
import { readFirstLine } from './read-line.js';
import { listenOnPath } from './socket-path.js';

export interface OperatorSocketOptions {
  /** Where the operator's UNIX socket goes (owner-only, mode 0600): apart from the guests' one. */
  path: string;
  /** A connection that has sent no request by then is closed (default 5000 ms). */
  requestTimeoutMs?: number;
}

export interface OperatorListener {
  readonly path: string;
  /** Stops listening and removes the socket it made. */
  close(): Promise<void>;
}

/** Operators connecting at once; a stats request is one line each way. */
const MAX_OPERATOR_CONNECTIONS = 8;

/**
 * The host's operator socket: the only place that answers `{"type":"stats"}` with every
 * guest's labels, metrics, ledgers and the audit log. It is a socket of its own, made owner-only,
 * so that what may read the host's figures is decided by who may open this path, not by who
 * may attach as a guest.
 */
export async function serveOperator(
  host: Host,
  options: OperatorSocketOptions,
): Promise<OperatorListener> {
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    if (sockets.size >= MAX_OPERATOR_CONNECTIONS) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(timeoutMs, () => socket.destroy());
    readFirstLine(socket).then(
      ({ line }) => {
        const request = parse(line);
        if (request?.type === 'stats') socket.end(`${JSON.stringify(statsOf(host))}\n`);
        else
          socket.end(
            `${JSON.stringify({ type: 'error', code: 'INVALID_ARGUMENT', message: 'the operator socket answers {"type":"stats"} only' })}\n`,
          );
      },
      () => socket.destroy(),
    );
  });
  const claimed = await listenOnPath(server, options.path);
  return {
    path: options.path,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      claimed.release();
    },
  };
}

function parse(line: string) {
  try {
    const parsed = attachRequestSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The host's figures: every guest, the last that left, the most recent audit records. */
export function statsOf(host: Host) {
  return {
    type: 'stats',
    guests: host.guests(),
    departed: host.departed(),
    audit: host.audit.list().slice(-50),
  };
}

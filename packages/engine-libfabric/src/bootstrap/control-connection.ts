import type { Socket } from 'node:net';
import { type ControlMessage, controlMessage, type PeerLink } from '../control-messages.js';

/** Longest control line a peer may send; anything longer is hostile and drops the link. */
const MAX_LINE = 4096;

/**
 * One control connection as newline-delimited JSON: every line checked against the control
 * schema; a malformed or oversized line closes the connection (the peer is then down).
 */
export function readControlLines(
  socket: Socket,
  onMessage: (message: ControlMessage) => void,
): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let parsed: ReturnType<typeof controlMessage.safeParse>;
      try {
        parsed = controlMessage.safeParse(JSON.parse(line));
      } catch {
        socket.destroy();
        return;
      }
      if (!parsed.success) {
        socket.destroy();
        return;
      }
      onMessage(parsed.data);
      if (socket.destroyed) return;
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE) socket.destroy();
  });
}

export function socketLink(socket: Socket): PeerLink {
  return {
    send(message) {
      if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
    },
    close() {
      socket.destroy();
    },
  };
}

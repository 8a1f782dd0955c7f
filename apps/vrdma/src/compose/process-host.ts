import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { VrdmaError } from '@vrdma/api-spec';
import type { AttachedGuest, Host } from '@vrdma/backend';
import { createMemfdRegion, type MemfdRegion } from '@vrdma/memory';
import { listenForProcessGuests, type ProcessHost } from '@vrdma/transport-shm';
import {
  createVirtioServerTransport,
  streamNotificationSource,
  streamNotifier,
  type VirtioServerTransport,
} from '@vrdma/transport-virtio';
import {
  type ClientMessage,
  clientMessageSchema,
  dataSocketPath,
  readFirstLine,
  type Welcome,
} from './attach-protocol.js';

const CONTROL_REGION_BYTES = 1 << 19;

interface Pending {
  label: string;
  memory: MemfdRegion;
  controlRegion: MemfdRegion;
  control: VirtioServerTransport;
  socket: Socket;
}

export interface AttachServer {
  readonly path: string;
  /** Resolves with the next guest labelled `label` to attach. */
  nextAttached(label: string): Promise<AttachedGuest>;
  close(): Promise<void>;
}

/**
 * Lets guests in other processes, spawned by us or started on their own, attach to `host`
 * through a UNIX socket at `path` (see attach-protocol.ts): their memory and their virtqueue
 * live in memfds created here, their data ring comes through transport-shm at `<path>.data`.
 */
export async function listenForGuests(host: Host, path: string): Promise<AttachServer> {
  const pending = new Map<string, Pending>();
  const sockets = new Set<Socket>();
  const waiting = new Map<string, Array<(guest: AttachedGuest) => void>>();
  let nextRegion = 1;
  rmSync(path, { force: true });
  rmSync(dataSocketPath(path), { force: true });

  const shm: ProcessHost = await listenForProcessGuests(dataSocketPath(path), (guest) => {
    const entry = guest.token ? pending.get(guest.token) : undefined;
    if (!entry) {
      guest.transport.fail(new VrdmaError('TRANSPORT', 'unknown attach token'));
      return;
    }
    pending.delete(guest.token!);
    const attached = host.attach({
      label: entry.label,
      control: entry.control,
      data: guest.transport,
      memory: entry.memory,
    });
    const waiters = waiting.get(entry.label) ?? [];
    waiting.delete(entry.label);
    for (const wake of waiters) wake(attached);
    void attached.departed.then(() => {
      entry.socket.destroy();
      entry.memory.close();
      entry.controlRegion.close();
    });
  });

  const onAttach = (
    socket: Socket,
    message: Extract<ClientMessage, { type: 'attach' }>,
    rest: Buffer,
  ) => {
    const id = nextRegion++;
    const memory = createMemfdRegion(id, message.memoryBytes, `vrdma-guest-${id}`);
    const controlRegion = createMemfdRegion(
      0x4000_0000 + id,
      CONTROL_REGION_BYTES,
      `vrdma-virtio-${id}`,
    );
    const control = createVirtioServerTransport({
      region: controlRegion,
      kicks: streamNotificationSource(socket),
      interrupts: streamNotifier(socket),
    });
    const token = randomUUID();
    const entry: Pending = { label: message.label, memory, controlRegion, control, socket };
    pending.set(token, entry);
    socket.once('close', () => {
      if (pending.get(token) === entry) {
        pending.delete(token);
        void control.close();
        memory.close();
        controlRegion.close();
      }
    });
    const welcome: Welcome = {
      type: 'welcome',
      token,
      memory: { id, path: memory.path, size: memory.size },
      control: { path: controlRegion.path, size: controlRegion.size },
      data: dataSocketPath(path),
    };
    socket.write(`${JSON.stringify(welcome)}\n`);
    if (rest.length > 0) socket.emit('data', rest);
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
    readFirstLine(socket).then(
      ({ line, rest }) => {
        let message: ClientMessage;
        try {
          message = clientMessageSchema.parse(JSON.parse(line));
        } catch (error) {
          socket.end(
            `${JSON.stringify({ type: 'error', message: `bad first message: ${(error as Error).message.slice(0, 200)}` })}\n`,
          );
          return;
        }
        if (message.type === 'stats') {
          const snapshot = {
            type: 'stats',
            guests: host.guests(),
            departed: host.departed(),
            audit: host.audit.list().slice(-50),
          };
          socket.end(`${JSON.stringify(snapshot)}\n`);
          return;
        }
        try {
          onAttach(socket, message, rest);
        } catch (error) {
          socket.end(`${JSON.stringify({ type: 'error', message: (error as Error).message })}\n`);
        }
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });

  return {
    path,
    nextAttached: (label) =>
      new Promise((resolve) => {
        waiting.set(label, [...(waiting.get(label) ?? []), resolve]);
      }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await shm.close();
      rmSync(path, { force: true });
    },
  };
}

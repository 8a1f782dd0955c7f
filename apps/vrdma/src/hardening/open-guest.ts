import { closeSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ApiSpec,
  ATTACH_DOORBELLS,
  ATTACH_PROTOCOL_VERSION,
  attachRefusalSchema,
  MAX_ATTACH_LINE,
  type Region,
  VrdmaError,
  welcomeSchema,
} from '@vrdma/api-spec';
import { type Connection, connect } from '@vrdma/frontend';
import {
  connectUnix,
  DoorbellMux,
  mapReceivedRegion,
  receiveRegions,
  SocketWakeChannel,
} from '@vrdma/memory';
import { GuestEndpoint } from '@vrdma/transport-shm';
import { createVirtioClientTransport, type VirtioClientTransport } from '@vrdma/transport-virtio';

/**
 * A process-style guest whose every layer stays in the caller's hands: the API connection, the
 * raw virtqueue and data-plane transports, the shared regions (rings included) and the socket
 * that carries its doorbells. What a hostile guest holds, and so what the fuzzer attacks with.
 */
export interface OpenGuest<S extends ApiSpec> {
  connection: Connection<S>;
  control: VirtioClientTransport;
  data: GuestEndpoint;
  regions: { control: Region; data: Region; memory?: Region };
  socket: Socket;
  /** Rings both doorbells, as a guest does after writing its rings. */
  kick(): void;
  /** Set once the host closed the connection. */
  readonly gone: boolean;
}

/**
 * Attaches to the host listening at `path` like the frontend's `connectToHost`, but without
 * blocking the thread while it waits for the welcome: the host may be served by this very
 * event loop (the fuzzer runs host and guests in one process).
 */
export async function openGuest<S extends ApiSpec>(
  path: string,
  options: { spec: S; label: string; memoryBytes: number; timeoutMs?: number },
): Promise<OpenGuest<S>> {
  const fd = connectUnix(path);
  const fds: number[] = [];
  let mapped = false;
  let socket: Socket | undefined;
  try {
    writeSync(
      fd,
      `${JSON.stringify({
        type: 'attach',
        version: ATTACH_PROTOCOL_VERSION,
        label: options.label,
        memoryBytes: options.memoryBytes,
      })}\n`,
    );
    const text = await receiveLine(fd, fds, Date.now() + (options.timeoutMs ?? 10_000));
    const answer: unknown = JSON.parse(text);
    const refused = attachRefusalSchema.safeParse(answer);
    if (refused.success)
      throw new VrdmaError('TRANSPORT', `the host refused: ${refused.data.message}`);
    const welcome = welcomeSchema.parse(answer);
    const control = mapReceivedRegion(welcome.control.id, fds[0]!, welcome.control.size);
    const data = mapReceivedRegion(welcome.data.id, fds[1]!, welcome.data.size);
    const memory = welcome.memory
      ? mapReceivedRegion(welcome.memory.id, fds[2]!, welcome.memory.size)
      : undefined;
    mapped = true;
    socket = new Socket({ fd, readable: true, writable: true });
    const live = socket;
    live.on('error', () => live.destroy());
    let gone = false;
    live.once('close', () => {
      gone = true;
    });
    const bells = new DoorbellMux(live, [ATTACH_DOORBELLS.control, ATTACH_DOORBELLS.data]);
    const controlTransport = createVirtioClientTransport({
      region: control,
      kicks: { notify: () => bells.ring(ATTACH_DOORBELLS.control) },
      interrupts: {
        subscribe: (listener, onClose) => {
          const stopRing = bells.onRing(ATTACH_DOORBELLS.control, listener);
          const stopClose = bells.onClose(() => onClose?.());
          return () => {
            stopRing();
            stopClose();
          };
        },
      },
    });
    const wake = new SocketWakeChannel(() => bells.ring(ATTACH_DOORBELLS.data));
    bells.onRing(ATTACH_DOORBELLS.data, () => wake.received());
    const dataTransport = new GuestEndpoint(data.bytes.buffer, wake);
    bells.onClose(() => {
      wake.close();
      dataTransport.fail(new VrdmaError('DISCONNECTED', 'the host closed the connection'));
    });
    dataTransport.onTeardown(() => live.destroy());
    const connection = await connect({
      spec: options.spec,
      control: controlTransport,
      data: dataTransport,
      memory,
      label: options.label,
      timeoutMs: options.timeoutMs,
    });
    return {
      connection,
      control: controlTransport,
      data: dataTransport,
      regions: { control, data, memory },
      socket: live,
      kick: () => {
        if (live.destroyed) return;
        bells.ring(ATTACH_DOORBELLS.control);
        bells.ring(ATTACH_DOORBELLS.data);
      },
      get gone() {
        return gone || live.destroyed;
      },
    };
  } catch (error) {
    if (!mapped) for (const received of fds) closeQuietly(received);
    if (socket) socket.destroy();
    else closeQuietly(fd);
    throw error;
  }
}

/** Reads the host's one-line answer and the descriptors with it, yielding between tries. */
async function receiveLine(fd: number, fds: number[], deadline: number): Promise<string> {
  let text = '';
  while (!text.includes('\n')) {
    if (text.length > MAX_ATTACH_LINE) throw new VrdmaError('TRANSPORT', 'overlong answer');
    try {
      const part = receiveRegions(fd, {
        maxBytes: MAX_ATTACH_LINE,
        maxFds: 3 - fds.length,
        timeoutMs: 0,
      });
      fds.push(...part.fds);
      text += Buffer.from(part.data).toString('utf8');
      if (part.data.length === 0) throw new VrdmaError('DISCONNECTED', 'the host hung up');
    } catch (error) {
      if (error instanceof VrdmaError && error.code === 'DISCONNECTED') throw error;
      if (Date.now() > deadline) throw error;
      await sleep(1);
    }
  }
  return text.slice(0, text.indexOf('\n'));
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closed already.
  }
}

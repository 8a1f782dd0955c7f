import { closeSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import {
  type ApiSpec,
  ATTACH_PROTOCOL_VERSION,
  type AttachRequest,
  VrdmaError,
} from '@vrdma/api-spec';
import { connectUnix, makeNonDumpable, mapReceivedRegion } from '@vrdma/memory';
import { type Connection, type ConnectOptions, connect } from '../connect.js';
import { processHostTransports } from './guest-transports.js';
import { receiveWelcome } from './receive-welcome.js';

export interface ConnectToHostOptions<S extends ApiSpec>
  extends Omit<ConnectOptions<S>, 'control' | 'data' | 'memory'> {
  /** The host's UNIX socket. */
  path: string;
  /** Bytes of shared memory to ask for (default: 16 MiB for a spec with buffers, else none). */
  memoryBytes?: number;
  /** A secret the host grants a scheduling weight to; without one the guest gets weight 1. */
  token?: string;
}

const DEFAULT_MEMORY = 16 * 1024 * 1024;

/**
 * From a guest process: attaches to the host listening at `path`, maps the memory, virtqueue
 * and ring the host sends as descriptors, and connects the API over them. The process makes
 * itself non-dumpable first, so other processes cannot reach its memory through /proc.
 * Fails with DISCONNECTED when nobody listens, PERMISSION_DENIED when the host knows no grant
 * for its token, TRANSPORT when the host refuses otherwise (its reason in the message), and as
 * `connect` does after that.
 */
export async function connectToHost<S extends ApiSpec>(
  options: ConnectToHostOptions<S>,
): Promise<Connection<S>> {
  const { spec, path, token, ...rest } = options;
  const memoryBytes = options.memoryBytes ?? (spec.resources.usesBuffers ? DEFAULT_MEMORY : 0);
  makeNonDumpable();
  let fd: number;
  try {
    fd = connectUnix(path);
  } catch (error) {
    throw new VrdmaError('DISCONNECTED', `no vrdma host listens at ${path}`, { cause: error });
  }
  let socket: Socket | undefined;
  try {
    const request: AttachRequest = {
      type: 'attach',
      version: ATTACH_PROTOCOL_VERSION,
      label: options.label ?? `pid-${process.pid}`,
      memoryBytes,
      ...(token !== undefined ? { token } : {}),
    };
    writeSync(fd, `${JSON.stringify(request)}\n`);
    const { welcome, fds } = receiveWelcome(fd, options.timeoutMs ?? 5_000);
    const [controlFd, dataFd, memoryFd] = fds as [number, number, number | undefined];
    const control = mapReceivedRegion(welcome.control.id, controlFd, welcome.control.size);
    const data = mapReceivedRegion(welcome.data.id, dataFd, welcome.data.size);
    const memory =
      welcome.memory && memoryFd !== undefined
        ? mapReceivedRegion(welcome.memory.id, memoryFd, welcome.memory.size)
        : undefined;
    // From here the socket is Node's: it carries the doorbells.
    socket = new Socket({ fd, readable: true, writable: true });
    const transports = processHostTransports(socket, { control, data });
    return await connect({
      ...rest,
      spec,
      control: transports.control,
      data: transports.data,
      memory,
    });
  } catch (error) {
    if (socket) socket.destroy();
    else closeSync(fd);
    throw error;
  }
}

import type { Socket } from 'node:net';
import { VrdmaError } from '@vrdma/api-spec';
import { checkDescriptor, MAX_PASSED_FDS } from './descriptor.js';
import { nativeMemory } from './native.js';
import { transportError } from './native-error.js';

/**
 * Sends `message` with the descriptors `fds` (SCM_RIGHTS, at most 8) over a connected UNIX
 * socket: how memory reaches another process, never as a path. The receiver gets its own
 * descriptors; the sender may close its own as soon as this returns.
 *
 * It writes on the socket's descriptor directly, beside Node's stream: it refuses while Node
 * still holds queued writes, which would otherwise arrive after this message.
 */
export function sendRegions(socket: Socket, message: Uint8Array, fds: readonly number[]): void {
  if (!(message instanceof Uint8Array) || message.byteLength === 0) {
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      'a region message must be a non-empty Uint8Array (descriptors travel with bytes)',
    );
  }
  if (!Array.isArray(fds) || fds.length > MAX_PASSED_FDS) {
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `one message carries at most ${MAX_PASSED_FDS} descriptors, not ${fds?.length}`,
    );
  }
  for (const fd of fds) checkDescriptor(fd, 'a descriptor to send');
  const socketFd = descriptorOf(socket);
  try {
    nativeMemory().sendWithFds(socketFd, message, [...fds]);
  } catch (error) {
    throw transportError('sending regions', error);
  }
}

function descriptorOf(socket: Socket): number {
  if (socket.connecting || socket.destroyed) {
    throw new VrdmaError(
      'TRANSPORT',
      `cannot send regions on a socket that is ${socket.connecting ? 'still connecting' : 'closed'}`,
    );
  }
  if (socket.remoteFamily !== undefined) {
    throw new VrdmaError(
      'TRANSPORT',
      `descriptors travel only over UNIX sockets, not ${socket.remoteFamily}`,
    );
  }
  if (socket.writableLength > 0) {
    throw new VrdmaError(
      'TRANSPORT',
      `the socket has ${socket.writableLength} bytes queued; wait for 'drain' before sending regions`,
    );
  }
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new VrdmaError('TRANSPORT', 'the socket has no file descriptor to send regions on');
  }
  return fd;
}

import { VrdmaError } from '@vrdma/api-spec';
import { checkDescriptor, MAX_PASSED_FDS } from './descriptor.js';
import { nativeMemory } from './native.js';
import { transportError } from './native-error.js';

/** Largest message `receiveRegions` reads at once. */
export const MAX_REGION_MESSAGE = 1 << 20;

export interface ReceiveOptions {
  /** Most bytes to read (1 .. 1 MiB); fewer may arrive. */
  maxBytes: number;
  /** Most descriptors accepted (0 .. 8); more is an error, and all received are closed. */
  maxFds: number;
  /** How long to wait for the socket to turn readable. */
  timeoutMs: number;
}

export interface ReceivedRegions {
  /** The bytes read by one recvmsg. */
  data: Uint8Array;
  /** The descriptors that came with them, now this process's (close-on-exec). */
  fds: number[];
}

/**
 * Receives one message and its descriptors from a UNIX socket (`connectUnix`'s, or any
 * descriptor no event loop reads from). It blocks the thread up to `timeoutMs`: it is meant
 * for a guest's set-up, not for a busy loop. Fails with TRANSPORT when nothing arrives in
 * time, when the peer closed, and when more descriptors came than `maxFds` (closing them all).
 */
export function receiveRegions(fd: number, options: ReceiveOptions): ReceivedRegions {
  checkDescriptor(fd, 'the socket');
  const { maxBytes, maxFds, timeoutMs } = options;
  checkRange('maxBytes', maxBytes, 1, MAX_REGION_MESSAGE);
  checkRange('maxFds', maxFds, 0, MAX_PASSED_FDS);
  checkRange('timeoutMs', timeoutMs, 0, 0x7fffffff);
  try {
    return nativeMemory().receiveWithFds(fd, maxBytes, maxFds, timeoutMs);
  } catch (error) {
    throw transportError('receiving regions', error);
  }
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `${name} must be an integer in ${min} .. ${max}, not ${value}`,
    );
  }
}

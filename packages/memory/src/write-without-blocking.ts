import { nativeMemory } from './native.js';
import { transportError } from './native-error.js';

/**
 * One write of `data` to a descriptor opened blocking, that never blocks: the bytes written,
 * or 'would-block'. For a device whose writes block without end when its other side is gone,
 * such as a virtio-serial port whose host end closed. A read blocked on the same descriptor
 * stays blocked; one that starts during the write may fail with EAGAIN and is retried.
 */
export function writeWithoutBlocking(fd: number, data: Uint8Array): number | 'would-block' {
  let written: number;
  try {
    written = nativeMemory().writeNonBlocking(fd, data);
  } catch (error) {
    throw transportError(`writing ${data.length} bytes to descriptor ${fd}`, error);
  }
  return written < 0 ? 'would-block' : written;
}

import { closeSync } from 'node:fs';
import { VrdmaError } from '@vrdma/api-spec';

/** Most descriptors one message carries (the add-on refuses more). */
export const MAX_PASSED_FDS = 8;

/** Throws INVALID_ARGUMENT unless `fd` could be a file descriptor. */
export function checkDescriptor(fd: number, what: string): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new VrdmaError('INVALID_ARGUMENT', `${what} must be a file descriptor, not ${fd}`);
  }
}

/** Closes a descriptor this code owns, whatever state it is in (an error path must not mask). */
export function closeQuietly(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    // Already closed or never valid: nothing is left open either way.
  }
}

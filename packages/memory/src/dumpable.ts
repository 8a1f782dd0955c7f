import { nativeMemory } from './native.js';
import { transportError } from './native-error.js';

/**
 * Makes this process non-dumpable (prctl(PR_SET_DUMPABLE, 0), as sshd does): its
 * /proc/<pid>/fd, mem and map_files then belong to root, so other processes of the same user
 * can no longer open its descriptors, read its memory or attach to it; nor does it dump core.
 * Root still can. Idempotent; no call makes it dumpable again.
 */
export function makeNonDumpable(): void {
  try {
    nativeMemory().setDumpable(false);
  } catch (error) {
    throw transportError('making the process non-dumpable', error);
  }
}

/** Whether this process's /proc/<pid> still belongs to its user (PR_GET_DUMPABLE is 1). */
export function isDumpable(): boolean {
  try {
    return nativeMemory().isDumpable();
  } catch (error) {
    throw transportError('reading PR_GET_DUMPABLE', error);
  }
}

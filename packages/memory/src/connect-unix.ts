import { VrdmaError } from '@vrdma/api-spec';
import { nativeMemory } from './native.js';
import { nativeCode, transportError } from './native-error.js';

/**
 * Connects a new UNIX stream socket to `path` and returns its descriptor (close-on-exec, not
 * owned by Node's event loop): the guest's end for `receiveRegions`. Close it with `closeSync`.
 */
export function connectUnix(path: string): number {
  if (typeof path !== 'string' || path.length === 0) {
    throw new VrdmaError('INVALID_ARGUMENT', 'a socket path must be a non-empty string');
  }
  try {
    return nativeMemory().connectUnix(path);
  } catch (error) {
    const code = nativeCode(error);
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      throw new VrdmaError('TRANSPORT', `no host listens at ${path} (${code})`, { cause: error });
    }
    if (code === 'ENAMETOOLONG' || error instanceof TypeError) {
      throw new VrdmaError('INVALID_ARGUMENT', (error as Error).message, { cause: error });
    }
    throw transportError(`connecting to ${path}`, error);
  }
}

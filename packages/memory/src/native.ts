import { createRequire } from 'node:module';
import { VrdmaError } from '@vrdma/api-spec';

/** The add-on's functions (native/vrdma_memory.c). */
export interface NativeMemory {
  /** Sealed anonymous shared memory of `size` bytes; returns its file descriptor. */
  createMemfd(name: string, size: number): number;
  /** A MAP_SHARED mapping of `fd`, unmapped when the ArrayBuffer is collected. */
  map(fd: number, size: number): ArrayBuffer;
}

const ADDON_PATH = '../build/Release/vrdma_memory.node';
let addon: NativeMemory | undefined;

/**
 * Loads the add-on on first use only: guests in threads never need it, so a machine without
 * a compiler can still use them. Where it cannot load, the error says what to install.
 */
export function nativeMemory(): NativeMemory {
  addon ??= loadAddon(ADDON_PATH);
  return addon;
}

/** Loads the add-on at `path` (relative to this module), or says what is missing. */
export function loadAddon(path: string): NativeMemory {
  if (process.platform !== 'linux') {
    throw new VrdmaError(
      'TRANSPORT',
      `process guests need Linux (memfd and /proc); this is ${process.platform}. Use thread guests.`,
    );
  }
  try {
    return createRequire(import.meta.url)(path) as NativeMemory;
  } catch (error) {
    throw new VrdmaError(
      'TRANSPORT',
      'the native add-on of @vrdma/memory is not built, and process guests need it. ' +
        'Install a C compiler, make and python3 (Debian: apt-get install build-essential ' +
        'python3), then run `npm rebuild @vrdma/memory`. Thread guests work without it.',
      { cause: error },
    );
  }
}

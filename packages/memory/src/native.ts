import { createRequire } from 'node:module';
import { VrdmaError } from '@vrdma/api-spec';

/** What `memfdInfo` tells of a descriptor, before anything maps it. */
export interface MemfdInfo {
  /** fstat's size for a regular file (0 for a pipe, socket, ...). */
  size: number;
  /** F_GET_SEALS bits (F_SEAL_SEAL 1, SHRINK 2, GROW 4, WRITE 8); 0 when not sealable. */
  seals: number;
  /** Whether the file takes seals: a memfd (or another tmpfs/hugetlbfs file). */
  isMemfd: boolean;
}

/** What `receiveWithFds` returns: the bytes read and the descriptors that came with them. */
export interface ReceivedWithFds {
  data: Uint8Array;
  fds: number[];
}

/**
 * The add-on's functions (native/vrdma_memory.c). Errors from a system call are `Error`s
 * whose `code` is errno's name (`ENOENT`, `ECONNREFUSED`, ...); the others use `ETIMEDOUT`
 * (nothing arrived, or no room to send, in time), `ECONNRESET` (the peer closed),
 * `TOO_MANY_FDS`, `EPROTO` (a control message other than SCM_RIGHTS) and `TRANSPORT`.
 * Every descriptor it creates or receives is close-on-exec.
 */
export interface NativeMemory {
  /** Sealed anonymous shared memory of `size` bytes; returns its file descriptor. */
  createMemfd(name: string, size: number): number;
  /**
   * A MAP_SHARED mapping of `size` bytes of `fd` from `offset` (default 0, a multiple of the
   * page size), unmapped when the ArrayBuffer is collected. Refuses (`OUT_OF_RANGE`) a window
   * that runs past the end of the file.
   */
  map(fd: number, size: number, offset?: number): ArrayBuffer;
  /** fstat and F_GET_SEALS of `fd`: what a receiver checks before mapping it. */
  memfdInfo(fd: number): MemfdInfo;
  /**
   * One sendmsg of `data` (not empty) with up to 8 descriptors (SCM_RIGHTS); MSG_NOSIGNAL.
   * On a non-blocking socket it polls for room up to 1 s, then throws `ETIMEDOUT`.
   */
  sendWithFds(socketFd: number, data: Uint8Array, fds: number[]): void;
  /**
   * Blocks up to `timeoutMs` for the socket to turn readable, then one recvmsg of at most
   * `maxBytes` bytes (≤ 1 MiB) and `maxFds` descriptors (≤ 8), MSG_CMSG_CLOEXEC. When more
   * descriptors came than allowed, or a control message is not SCM_RIGHTS, it closes every
   * descriptor received and throws; 0 bytes means the peer closed, and throws.
   */
  receiveWithFds(
    socketFd: number,
    maxBytes: number,
    maxFds: number,
    timeoutMs: number,
  ): ReceivedWithFds;
  /** A blocking connect of a new AF_UNIX stream socket (close-on-exec) to `path`. */
  connectUnix(path: string): number;
  /** prctl(PR_SET_DUMPABLE): off makes /proc/<pid> root's, closed to the user's processes. */
  setDumpable(on: boolean): void;
  /** prctl(PR_GET_DUMPABLE) === 1: /proc/<pid> belongs to the process's own user. */
  isDumpable(): boolean;
  /**
   * One write of `data` to `fd` with O_NONBLOCK set for it alone: the bytes written, or -1
   * where the write would have blocked.
   */
  writeNonBlocking(fd: number, data: Uint8Array): number;
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

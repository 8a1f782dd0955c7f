import { readlinkSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** How long the calling thread has waited, runnable, for a CPU. */
export interface RunDelayClock {
  /** µs this thread spent runnable but not running, so far; undefined where unknown. */
  read(): number | undefined;
  /** Done with the clock (its transport closed): lets go of what `read` took hold of. */
  release(): void;
}

/**
 * This thread's scheduler statistics file, open while any clock of the thread holds it. Module
 * state is per thread: a worker has its own. The file is open as a FileHandle, not a raw
 * descriptor, because Node closes a thread's FileHandles when the thread ends, however it ends;
 * a raw descriptor from fs.open is closed then only if the Worker tracks them (its
 * trackUnmanagedFds option), so a thread terminated while it held one leaked it.
 */
const thread: {
  handle: FileHandle | undefined;
  opening: boolean;
  holders: number;
  missing: boolean;
} = { handle: undefined, opening: false, holders: 0, missing: false };

function openForThread(): void {
  if (thread.handle || thread.opening || thread.missing) return;
  let path: string;
  try {
    // The open runs on a thread of libuv's pool, where /proc/thread-self is that thread: name
    // this one ("<pid>/task/<tid>").
    path = `/proc/${readlinkSync('/proc/thread-self')}/schedstat`;
  } catch {
    thread.missing = true;
    return;
  }
  thread.opening = true;
  open(path, 'r').then(
    (handle) => {
      thread.opening = false;
      if (thread.holders > 0) thread.handle = handle;
      else closeQuietly(handle);
    },
    () => {
      thread.opening = false;
      thread.missing = true;
    },
  );
}

/**
 * Whether this thread's statistics file is open as a FileHandle. Between the open's system
 * call and its completion on this thread's event loop, the descriptor is raw: a thread
 * terminated in that moment (once per thread, at its first poll) still leaks it, as it would
 * any pending open (Node does not close them at a thread's end).
 */
export function runDelayFileOpen(): boolean {
  return thread.handle !== undefined;
}

function closeQuietly(handle: FileHandle): void {
  handle.close().catch(() => {});
}

/**
 * Linux's per-thread scheduler statistics: "<ns on a CPU> <ns waiting on a run queue>
 * <timeslices>". A thread that waits on a run queue while it busy-polls shares its core with
 * more threads than there are cores: polling then takes the CPU its peer needs (KVM stops
 * halt-polling on the same sign). Read it from the thread it is about. The file is opened on
 * the first read, asynchronously (until it is open, `read` says undefined), once per thread
 * for all its clocks, and closed when the last of them is released; a read through it costs
 * about a microsecond. Elsewhere (no such file) `read` says undefined.
 */
export function schedstatRunDelay(): RunDelayClock {
  let holding = false;
  const buffer = Buffer.alloc(96);
  return {
    read() {
      if (thread.missing) return undefined;
      if (!holding) {
        holding = true;
        thread.holders++;
        openForThread();
      }
      const handle = thread.handle;
      if (!handle) return undefined;
      try {
        const length = readSync(handle.fd, buffer, 0, buffer.length, 0);
        const waitedNs = Number(buffer.toString('latin1', 0, length).split(' ')[1]);
        return Number.isFinite(waitedNs) ? waitedNs / 1000 : undefined;
      } catch {
        thread.missing = true;
        return undefined;
      }
    },
    release() {
      if (!holding) return;
      holding = false;
      thread.holders--;
      if (thread.holders === 0 && thread.handle) {
        closeQuietly(thread.handle);
        thread.handle = undefined;
      }
    },
  };
}

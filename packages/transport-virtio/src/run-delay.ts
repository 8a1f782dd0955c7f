import { closeSync, openSync, readSync } from 'node:fs';

/** How long the calling thread has waited, runnable, for a CPU. */
export interface RunDelayClock {
  /** µs this thread spent runnable but not running, so far; undefined where unknown. */
  read(): number | undefined;
  /** Lets go of what `read` holds (a descriptor) until it is needed again. */
  release(): void;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/**
 * Linux's per-thread scheduler statistics: "<ns on a CPU> <ns waiting on a run queue>
 * <timeslices>". A thread that waits on a run queue while it busy-polls shares its core with
 * more threads than there are cores: polling then takes the CPU its peer needs (KVM stops
 * halt-polling on the same sign). The file is opened on first read, through `thread-self`,
 * so read it from the thread it is about; a read through the open descriptor costs about a
 * microsecond. Elsewhere (no such file) `read` says undefined.
 */
export function schedstatRunDelay(): RunDelayClock {
  let fd: number | undefined;
  let missing = false;
  const buffer = Buffer.alloc(96);
  return {
    read() {
      if (missing) return undefined;
      try {
        fd ??= openSync(SCHEDSTAT, 'r');
        const length = readSync(fd, buffer, 0, buffer.length, 0);
        const waitedNs = Number(buffer.toString('latin1', 0, length).split(' ')[1]);
        return Number.isFinite(waitedNs) ? waitedNs / 1000 : undefined;
      } catch {
        missing = true;
        this.release();
        return undefined;
      }
    },
    release() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

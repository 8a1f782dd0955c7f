// The three ways into another process's memory through /proc, as any process of any user can
// try them with node:fs alone. Used by guest-boundary.test.ts's attacker and by its guests.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';

/** What one way in gave: what it read, or the code of the error that stopped it. */
export type Attempt<T> = { read: T } | { denied: string };

export interface ProcReport {
  /** The secrets found in the memfds opened through /proc/<pid>/fd/*. */
  fd: Attempt<string[]>;
  /** The secrets found in the process's vrdma memfd mappings, read through /proc/<pid>/mem. */
  mem: Attempt<string[]>;
  /** How many entries /proc/<pid>/map_files lists. */
  mapFiles: Attempt<number>;
}

/** Tries every way into process `pid`'s memory and reports which of `secrets` each found. */
export function probe(pid: number, secrets: readonly string[]): ProcReport {
  const found = (contents: Buffer[]) => secrets.filter((s) => contents.some((c) => c.includes(s)));
  return {
    fd: attempt(() => found(memfdsThroughFd(pid))),
    mem: attempt(() => found(memfdMappingsThroughMem(pid))),
    mapFiles: attempt(() => readdirSync(`/proc/${pid}/map_files`).length),
  };
}

function attempt<T>(how: () => T): Attempt<T> {
  try {
    return { read: how() };
  } catch (error) {
    return { denied: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}

/** The contents of every memfd the process holds a descriptor of. */
function memfdsThroughFd(pid: number): Buffer[] {
  const contents: Buffer[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const path = `/proc/${pid}/fd/${fd}`;
    let target: string;
    try {
      target = readlinkSync(path);
    } catch (error) {
      // A descriptor closed since the listing; any other error is the answer.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (target.startsWith('/memfd:')) contents.push(readFileSync(path));
  }
  return contents;
}

/** The bytes of every vrdma memfd the process has mapped, read from its memory. */
function memfdMappingsThroughMem(pid: number): Buffer[] {
  // Opening mem is the permission check; maps alone would only say where to look.
  const mem = openSync(`/proc/${pid}/mem`, 'r');
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .filter((line) => line.includes('/memfd:vrdma'))
      .map((line) => {
        const [start, end] = line
          .split(' ')[0]!
          .split('-')
          .map((hex) => Number.parseInt(hex, 16));
        const bytes = Buffer.alloc(end! - start!);
        readSync(mem, bytes, 0, bytes.length, start!);
        return bytes;
      });
  } finally {
    closeSync(mem);
  }
}

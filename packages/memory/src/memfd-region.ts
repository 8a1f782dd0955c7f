import { closeSync, openSync } from 'node:fs';
import type { Region } from '@vrdma/api-spec';
import { nativeMemory } from './native.js';
import { checkRegionSize } from './shared-region.js';

/** Host-side memory for a process guest: a sealed memfd the guest opens through /proc. */
export interface MemfdRegion extends Region {
  /** Where another process opens it: /proc/<host pid>/fd/<fd>. */
  readonly path: string;
  /** Closes the host's descriptor; the host's mapping (and the guest's) stay valid. */
  close(): void;
}

/**
 * Memory shared with another process. The host creates it (as a hypervisor owns guest RAM),
 * sealed against shrinking: a guest can never truncate it under the host, so host accesses
 * cannot fault. Nothing is left in the file system, even if either side is killed.
 */
export function createMemfdRegion(id: number, size: number, name = 'vrdma'): MemfdRegion {
  checkRegionSize(size);
  const native = nativeMemory();
  const fd = native.createMemfd(name, size);
  let open = true;
  try {
    const memory = native.map(fd, size);
    return {
      id,
      size,
      bytes: new Uint8Array(memory),
      path: `/proc/${process.pid}/fd/${fd}`,
      close() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Maps memory another process shared by path (a /proc/<pid>/fd/<n> of a memfd). */
export function openMappedRegion(id: number, path: string, size: number): Region {
  checkRegionSize(size);
  const native = nativeMemory();
  const fd = openSync(path, 'r+');
  try {
    return { id, size, bytes: new Uint8Array(native.map(fd, size)) };
  } finally {
    closeSync(fd);
  }
}

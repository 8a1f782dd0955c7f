import { closeSync } from 'node:fs';
import type { Region } from '@vrdma/api-spec';
import { nativeMemory } from './native.js';
import { checkRegionSize } from './shared-region.js';

/** Host-side memory for a process guest: a sealed memfd, sent to the guest as a descriptor. */
export interface MemfdRegion extends Region {
  /**
   * The memfd's descriptor, to send with `sendRegions`; -1 once `close()` ran. Close it as soon
   * as every guest has received it: the host then keeps no descriptor, only its mapping.
   */
  readonly fd: number;
  /** Closes the host's descriptor; the host's mapping (and the guest's) stay valid. Idempotent. */
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
      get fd() {
        return open ? fd : -1;
      },
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

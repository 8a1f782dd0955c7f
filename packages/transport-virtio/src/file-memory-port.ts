import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { CONFIG, CONFIG_BLOCK_BYTES } from './config-block.js';
import { AVAIL_IDX, USED_IDX } from './layout.js';
import type { MemoryPort } from './memory-port.js';

export interface FileMirror {
  readonly region: Region;
  readonly port: MemoryPort;
  close(): void;
}

/**
 * A region over a shared file (e.g. under /dev/shm) for a process that cannot mmap it: the
 * region's bytes are a private copy kept coherent with the file through pread/pwrite, which go
 * through the same page cache as the peer's MAP_SHARED mapping. Slower than a mapping (a read
 * of the region per wake-up), but exact. A mapped region from transport-shm needs no port.
 */
export function openFileMirror(
  path: string,
  options: { role?: 'device' | 'driver'; id?: number } = {},
): FileMirror {
  const role = options.role ?? 'device';
  const fd = openSync(path, 'r+');
  const { size } = fstatSync(fd);
  if (size < CONFIG_BLOCK_BYTES || size > 1 << 30) {
    closeSync(fd);
    throw new VrdmaError('TRANSPORT', `shared file of ${size} bytes cannot hold a virtio device`);
  }
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  const scratch = new Uint8Array(8);
  const scratchView = new DataView(scratch.buffer);
  const readAt = (at: number, length: number): void => {
    readSync(fd, scratch, 0, length, at);
  };
  const port: MemoryPort = {
    acquire() {
      // The peer's index first (avail idx for the device, used idx for the driver): the peer
      // publishes it after the entries it covers, so a copy taken after reading it holds them.
      readAt(role === 'device' ? CONFIG.avail : CONFIG.used, 8);
      const ring = Number(scratchView.getBigUint64(0, true));
      const idxAt = ring + (role === 'device' ? AVAIL_IDX : USED_IDX);
      const haveIdx = ring >= CONFIG_BLOCK_BYTES && idxAt + 2 <= size && idxAt % 2 === 0;
      let idx = 0;
      if (haveIdx) {
        readAt(idxAt, 2);
        idx = scratchView.getUint16(0, true);
      }
      readSync(fd, bytes, 0, size, 0);
      if (haveIdx) view.setUint16(idxAt, idx, true);
    },
    release(writes) {
      for (const [at, length] of writes) writeSync(fd, bytes, at, length, at);
    },
  };
  port.acquire();
  return { region: { id: options.id ?? 1, size, bytes }, port, close: () => closeSync(fd) };
}

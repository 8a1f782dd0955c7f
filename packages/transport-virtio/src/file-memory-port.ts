import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
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
 * A region over a shared file, given as a descriptor (received over a UNIX socket, or
 * inherited), for a process that cannot mmap it: the region's bytes are a private copy kept
 * coherent with the file through pread/pwrite, which go through the same page cache as the
 * peer's MAP_SHARED mapping. Slower than a mapping (a read of the region per wake-up), but
 * exact. A mapped region needs no port. The mirror owns `fd` from then on: `close()` closes it,
 * and so does a refusal.
 */
export function openFileMirror(
  fd: number,
  options: { role?: 'device' | 'driver'; id?: number } = {},
): FileMirror {
  const role = options.role ?? 'device';
  if (!Number.isInteger(fd) || fd < 0)
    throw new VrdmaError('INVALID_ARGUMENT', `a file descriptor is a natural number, not ${fd}`);
  let size: number;
  try {
    ({ size } = fstatSync(fd));
  } catch (error) {
    throw new VrdmaError('INVALID_ARGUMENT', `descriptor ${fd} is not an open file`, {
      cause: error,
    });
  }
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
      for (const [at, length] of publishOrder(writes)) writeSync(fd, bytes, at, length, at);
    },
  };
  port.acquire();
  let open = true;
  const close = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  return { region: { id: options.id ?? 1, size, bytes }, port, close };
}

type Write = readonly [at: number, length: number];

/**
 * The order to publish a batch of recorded writes in: the order they were made, except that a
 * range recorded more than once goes out only at its last place. A release copies what the
 * range holds now, so an index bumped once per chain (payload, element, idx, payload, element,
 * idx) would otherwise go out at its first place already holding its final value, ahead of
 * the payloads it covers, and a peer reading it in between would take stale replies.
 */
export function publishOrder(writes: ReadonlyArray<Write>): Write[] {
  const lastPlace = new Map<string, number>();
  writes.forEach(([at, length], i) => {
    lastPlace.set(`${at}+${length}`, i);
  });
  return writes.filter(([at, length], i) => lastPlace.get(`${at}+${length}`) === i);
}

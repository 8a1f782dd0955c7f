import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { CONFIG_BLOCK_BYTES } from './config-block.js';
import { openFileMirror, publishOrder } from './file-memory-port.js';
import { anonymousSharedFile } from './shared-file.fixture.js';

function failure(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isVrdmaError(error)) return { code: error.code, message: error.message };
    return { code: 'untyped', message: String(error) };
  }
  return { code: 'none', message: '' };
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

describe('a file mirror', () => {
  it('is opened on a descriptor, and keeps its copy coherent with the file both ways', () => {
    const fd = anonymousSharedFile(1 << 12);
    const mirror = openFileMirror(fd);
    try {
      mirror.region.bytes.set([1, 2, 3], 200);
      mirror.port.release([[200, 3]]);
      const seen = Buffer.alloc(3);
      readSync(fd, seen, 0, 3, 200); // what a peer's mapping of the file shows
      expect(Array.from(seen)).toEqual([1, 2, 3]);
      writeSync(fd, Uint8Array.of(9), 0, 1, 300); // a peer's write
      mirror.port.acquire();
      expect(mirror.region.bytes[300]).toBe(9);
    } finally {
      mirror.close();
      mirror.close(); // idempotent: never closes a descriptor reused since
    }
    expect(isOpen(fd)).toBe(false);
  });

  it('refuses what is not an open descriptor, and a file too small for a device', () => {
    expect(failure(() => openFileMirror(-1))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const closed = anonymousSharedFile(1 << 12);
    closeSync(closed);
    expect(failure(() => openFileMirror(closed))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `descriptor ${closed} is not an open file`,
    });
    const small = anonymousSharedFile(CONFIG_BLOCK_BYTES - 1);
    expect(failure(() => openFileMirror(small))).toMatchObject({
      code: 'TRANSPORT',
      message: `shared file of ${CONFIG_BLOCK_BYTES - 1} bytes cannot hold a virtio device`,
    });
    expect(isOpen(small)).toBe(false); // the mirror owned it, and closed it on refusal
  });

  it('publishes an index written once per chain after every payload it covers', () => {
    // Two replies pushed before one release: payload, used element, used idx, twice. The
    // release copies the idx as it is now (2), so it must go out after the second payload.
    const payload1 = [4096, 15] as const;
    const element1 = [1292, 8] as const;
    const usedIdx = [1290, 2] as const;
    const payload2 = [6144, 15] as const;
    const element2 = [1300, 8] as const;
    expect(publishOrder([payload1, element1, usedIdx, payload2, element2, usedIdx])).toEqual([
      payload1,
      element1,
      payload2,
      element2,
      usedIdx,
    ]);
  });
});

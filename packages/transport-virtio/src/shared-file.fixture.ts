import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test support: a plain shared file of `size` zero bytes (tmpfs when there is /dev/shm) that
 * exists only as the descriptor returned: it is made in a private folder, opened, and its
 * name removed at once, so no other process can open it by path. Hand it to a peer as a
 * descriptor; a file is what a host without the native add-on can offer.
 */
export function anonymousSharedFile(size: number): number {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vrdma-file-'));
  try {
    const path = join(dir, 'memory');
    writeFileSync(path, new Uint8Array(size), { mode: 0o600 });
    return openSync(path, 'r+');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

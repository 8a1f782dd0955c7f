import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVrdmaError } from '@vrdma/api-spec';
import { afterEach, describe, expect, it } from 'vitest';
import { writeWithoutBlocking } from './write-without-blocking.js';

describe('writeWithoutBlocking', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A FIFO opened blocking for reading and writing: nobody drains it unless the test reads. */
  function fifo(): number {
    dir = mkdtempSync(join(tmpdir(), 'vrdma-fifo-'));
    const path = join(dir, 'port');
    execFileSync('mkfifo', [path]);
    return openSync(path, constants.O_RDWR);
  }

  it('fills a descriptor nobody drains and says it would block, where a plain write blocks', () => {
    const fd = fifo();
    const chunk = new Uint8Array(4096).fill(7);
    let written = 0;
    let outcome: number | 'would-block' = 0;
    // A pipe holds 64 KiB by default (at most 1 MiB): the loop ends well before 1024 rounds.
    for (let round = 0; round < 1024; round++) {
      outcome = writeWithoutBlocking(fd, chunk);
      if (outcome === 'would-block') break;
      written += outcome;
    }
    expect(outcome).toBe('would-block');
    expect(written).toBeGreaterThanOrEqual(4096);
    // The descriptor is blocking again afterwards, and what was written is all there.
    const back = Buffer.alloc(written);
    let read = 0;
    while (read < written) read += readSync(fd, back, read, written - read, null);
    expect(back.every((byte) => byte === 7)).toBe(true);
    expect(writeWithoutBlocking(fd, chunk)).toBe(4096);
    closeSync(fd);
  });

  it('refuses a closed descriptor with a typed error', () => {
    const fd = fifo();
    closeSync(fd);
    let failure: unknown;
    try {
      writeWithoutBlocking(fd, new Uint8Array([1]));
    } catch (error) {
      failure = error;
    }
    expect(isVrdmaError(failure, 'TRANSPORT'), String(failure)).toBe(true);
    expect(String(failure)).toContain('EBADF');
  });
});

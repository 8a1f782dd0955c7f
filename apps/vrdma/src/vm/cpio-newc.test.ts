import { describe, expect, it } from 'vitest';
import { cpioNewc } from './cpio-newc.js';

/** Reads a newc archive back: name, mode, rdev and data of each entry, as the kernel would. */
function readNewc(archive: Buffer) {
  const entries: { name: string; mode: number; rdev: [number, number]; data: Buffer }[] = [];
  let at = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    expect(archive.toString('ascii', at, at + 6)).toBe('070701');
    const field = (i: number) =>
      Number.parseInt(archive.toString('ascii', at + 6 + i * 8, at + 14 + i * 8), 16);
    const [mode, size, rdevMajor, rdevMinor, nameSize] = [
      field(1),
      field(6),
      field(9),
      field(10),
      field(11),
    ];
    const name = archive.toString('utf8', at + 110, at + 110 + nameSize - 1);
    expect(archive[at + 110 + nameSize - 1]).toBe(0);
    const dataAt = align(at + 110 + nameSize);
    if (name === 'TRAILER!!!') return { entries, end: dataAt };
    entries.push({
      name,
      mode,
      rdev: [rdevMajor, rdevMinor],
      data: archive.subarray(dataAt, dataAt + size),
    });
    at = align(dataAt + size);
  }
}

describe('newc cpio archives', () => {
  it('hold folders, files, links and the console device as the kernel reads them, each part 4-byte aligned', () => {
    const init = Buffer.from('#!/bin/sh\necho hi\n');
    const archive = cpioNewc([
      { kind: 'dir', path: '/bin' },
      { kind: 'file', path: '/init', data: init, mode: 0o755 },
      { kind: 'file', path: '/bin/odd', data: Buffer.from('abcde'), mode: 0o644 },
      { kind: 'symlink', path: '/bin/sh', target: 'busybox' },
      { kind: 'char', path: '/dev/console', major: 5, minor: 1 },
    ]);
    const { entries, end } = readNewc(archive);
    expect(end).toBe(archive.length);
    expect(entries.map((e) => e.name)).toEqual(['bin', 'init', 'bin/odd', 'bin/sh', 'dev/console']);
    expect(entries[0]!.mode).toBe(0o040755);
    expect(entries[1]!.mode).toBe(0o100755);
    expect(entries[1]!.data.equals(init)).toBe(true);
    expect(entries[2]!.data.toString()).toBe('abcde');
    expect(entries[3]!.mode).toBe(0o120777);
    expect(entries[3]!.data.toString()).toBe('busybox');
    expect(entries[4]!.mode).toBe(0o020600);
    expect(entries[4]!.rdev).toEqual([5, 1]);
  });

  it('are the same bytes for the same entries, so a cached image is found again', () => {
    const entries = [{ kind: 'file' as const, path: '/a', data: Buffer.from('x'), mode: 0o644 }];
    expect(cpioNewc(entries).equals(cpioNewc(entries))).toBe(true);
  });
});

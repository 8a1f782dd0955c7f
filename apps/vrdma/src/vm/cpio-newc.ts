/** One entry of an initramfs: a folder, a file with its bytes and mode, a symbolic link or a
 * character device (the console the kernel opens before anything is mounted). */
export type CpioEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; data: Uint8Array; mode: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'char'; path: string; major: number; minor: number };

const TYPE = { dir: 0o040000, file: 0o100000, symlink: 0o120000, char: 0o020000 } as const;

/**
 * An archive in the "newc" cpio format the Linux kernel unpacks as an initramfs: per entry a
 * 110-byte ASCII header of hex fields, the NUL-ended name, the data, each padded to 4 bytes;
 * then the TRAILER!!! entry. Written here so building a guest image needs no cpio tool.
 */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let inode = 1;
  const push = (name: string, mode: number, data: Uint8Array, rdev = [0, 0]) => {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [
      inode++,
      mode,
      0, // uid
      0, // gid
      (mode & 0o170000) === TYPE.dir ? 2 : 1, // nlink
      0, // mtime: fixed, so the same inputs give the same archive
      data.byteLength,
      0,
      0, // dev major, minor
      rdev[0]!,
      rdev[1]!, // rdev major, minor
      nameBytes.byteLength,
      0, // check
    ];
    const header = `070701${fields.map((field) => field.toString(16).padStart(8, '0')).join('')}`;
    parts.push(Buffer.from(header, 'ascii'), nameBytes, padding(110 + nameBytes.byteLength));
    parts.push(
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      padding(data.byteLength),
    );
  };
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, '');
    if (entry.kind === 'dir') push(name, TYPE.dir | 0o755, new Uint8Array(0));
    else if (entry.kind === 'file') push(name, TYPE.file | (entry.mode & 0o7777), entry.data);
    else if (entry.kind === 'symlink')
      push(name, TYPE.symlink | 0o777, Buffer.from(entry.target, 'utf8'));
    else push(name, TYPE.char | 0o600, new Uint8Array(0), [entry.major, entry.minor]);
  }
  push('TRAILER!!!', 0, new Uint8Array(0));
  return Buffer.concat(parts);
}

function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

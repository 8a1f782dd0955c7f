import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** What booting a guest VM takes from this machine, and the Debian packages that bring it. */
export const VM_PACKAGES = 'qemu-system-x86 linux-image-amd64 busybox-static';

export interface VmHostTools {
  qemu: string;
  kernel: string;
  /** The kernel's modules folder (virtio's drivers are modules in Debian's kernel). */
  modules: string;
  busybox: string;
}

/**
 * Finds QEMU, a kernel with its modules and a static busybox, or says in one line what to
 * install (`apt-get install -y qemu-system-x86 linux-image-amd64 busybox-static`).
 */
export function findVmHostTools(): VmHostTools {
  const qemu = onPath('qemu-system-x86_64');
  const kernel = newestKernel();
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(isStaticBinary);
  const missing = [
    !qemu && 'qemu-system-x86_64',
    !kernel && 'a kernel in /boot with its modules',
    !busybox && 'a static busybox',
  ].filter(Boolean);
  if (missing.length > 0 || !qemu || !kernel || !busybox)
    throw new Error(
      `VM guests need ${missing.join(', ')}: apt-get install -y ${VM_PACKAGES} (as root)`,
    );
  return { qemu, kernel: kernel.image, modules: kernel.modules, busybox };
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const path = join(dir, name);
    if (dir && existsSync(path)) return path;
  }
  return undefined;
}

function newestKernel(): { image: string; modules: string } | undefined {
  let names: string[] = [];
  try {
    names = readdirSync('/boot').filter((name) => name.startsWith('vmlinuz-'));
  } catch {
    return undefined;
  }
  const versions = names
    .map((name) => name.slice('vmlinuz-'.length))
    .filter((version) => existsSync(join('/lib/modules', version, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const version = versions.at(-1);
  return version
    ? { image: join('/boot', `vmlinuz-${version}`), modules: join('/lib/modules', version) }
    : undefined;
}

function isStaticBinary(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    execFileSync('ldd', [path], { stdio: 'pipe' });
    return false; // ldd lists libraries: a dynamic build, of no use without them
  } catch {
    return true; // "not a dynamic executable"
  }
}

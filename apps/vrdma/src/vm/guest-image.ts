import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { entryPoint } from '../compose/entry-point.js';
import { type CpioEntry, cpioNewc } from './cpio-newc.js';
import type { VmHostTools } from './vm-requirements.js';

/** The kernel modules a guest loads: virtio over PCI, and the console driver behind its port. */
const GUEST_MODULES = ['virtio_pci', 'virtio_console'];

export interface GuestImage {
  kernel: string;
  initramfs: string;
  /** Whether this call built it (false: found in the cache). */
  built: boolean;
}

/**
 * The guest's initramfs, made from this machine's own files with no download: a static
 * busybox, this `node` and the libraries `ldd` lists, the virtio modules of the kernel, the
 * add-on of @vrdma/memory and the guest program bundled with esbuild (so node needs no
 * node_modules in the VM). Kept in `cacheDir` under a hash of its inputs.
 */
export async function buildGuestImage(
  tools: VmHostTools,
  cacheDir = join(tmpdir(), 'vrdma-vm-images'),
): Promise<GuestImage> {
  const program = await bundleGuestProgram();
  const addon = addonPath();
  const libraries = librariesOf(process.execPath);
  const modules = modulesInLoadOrder(tools.modules, GUEST_MODULES);
  const hash = createHash('sha256').update(program);
  for (const file of [tools.kernel, tools.busybox, process.execPath, addon, ...libraries])
    hash.update(`${file}:${statSync(file).size}:${statSync(file).mtimeMs}\n`);
  hash.update(modules.join('\n'));
  hash.update(INIT);
  const key = hash.digest('hex').slice(0, 16);
  const initramfs = join(cacheDir, `vrdma-guest-${key}.cpio.gz`);
  if (existsSync(initramfs)) return { kernel: tools.kernel, initramfs, built: false };

  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (path: string) => {
    if (path === '/' || dirs.has(path)) return;
    dir(posix.dirname(path));
    dirs.add(path);
    entries.push({ kind: 'dir', path });
  };
  const file = (path: string, data: Uint8Array, mode = 0o755) => {
    dir(posix.dirname(path));
    entries.push({ kind: 'file', path, data, mode });
  };
  for (const path of ['/dev', '/proc', '/sys', '/tmp']) dir(path);
  entries.push({ kind: 'char', path: '/dev/console', major: 5, minor: 1 });
  file('/init', Buffer.from(INIT));
  file('/bin/busybox', readFileSync(tools.busybox));
  entries.push({ kind: 'symlink', path: '/bin/sh', target: 'busybox' });
  file('/usr/bin/node', readFileSync(process.execPath));
  for (const library of libraries) file(library, readFileSync(library));
  file('/modules/load-order', Buffer.from(modules.map((m) => posix.basename(m)).join('\n')));
  for (const module of modules)
    file(`/modules/${posix.basename(module)}`, readFileSync(join(tools.modules, module)), 0o644);
  // The bundle loads the add-on as ../build/Release/vrdma_memory.node, as @vrdma/memory does.
  file('/app/dist/vm-guest.mjs', program, 0o644);
  file('/app/build/Release/vrdma_memory.node', readFileSync(addon));

  mkdirSync(cacheDir, { recursive: true });
  const partial = `${initramfs}.${process.pid}.partial`;
  writeFileSync(partial, gzipSync(cpioNewc(entries), { level: 1 }));
  renameSync(partial, initramfs);
  return { kernel: tools.kernel, initramfs, built: true };
}

/** The guest's first process: mounts, loads the virtio modules, runs the program, powers off. */
const INIT = `#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
for module in $(/bin/busybox cat /modules/load-order); do
  /bin/busybox insmod /modules/$module || echo "vrdma-vm: cannot load $module"
done
# devtmpfs makes /dev/vportNpM once the console driver has found the port.
for i in 1 2 3 4 5 6 7 8 9 10; do
  /bin/busybox ls /dev/vport* >/dev/null 2>&1 && break
  /bin/busybox sleep 0.2
done
echo "vrdma-vm: booted in $(/bin/busybox cut -d' ' -f1 /proc/uptime) s"
LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu /usr/bin/node /app/dist/vm-guest.mjs
echo "vrdma-vm: guest program exited with $?"
/bin/busybox poweroff -f
`;

async function bundleGuestProgram(): Promise<Buffer> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new Error('building a VM guest image needs esbuild (npm install esbuild)', {
      cause: error,
    });
  }
  const entry = entryPoint('vm-guest', import.meta.url).process.path;
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@vrdma/source'],
    external: ['msgpackr-extract'],
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as vrdmaCreateRequire } from 'node:module'; const require = vrdmaCreateRequire(import.meta.url);",
    },
    write: false,
    logLevel: 'silent',
  });
  return Buffer.from(result.outputFiles[0]!.contents);
}

function addonPath(): string {
  const require = createRequire(import.meta.url);
  const memory = dirname(require.resolve('@vrdma/memory/package.json'));
  const path = join(memory, 'build/Release/vrdma_memory.node');
  if (!existsSync(path))
    throw new Error('the native add-on of @vrdma/memory is not built: npm rebuild @vrdma/memory');
  return path;
}

/** The shared libraries `ldd` lists for `binary`, the dynamic loader included. */
function librariesOf(binary: string): string[] {
  const listing = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const paths = [...listing.matchAll(/(\/\S+) \(0x/g)].map((match) => match[1]!);
  return [...new Set(paths)];
}

/** `wanted` and what they need, dependencies first, as paths relative to the modules folder. */
function modulesInLoadOrder(modulesDir: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const [module, rest] = line.split(':');
    if (module) deps.set(module, (rest ?? '').trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map(
    [...deps.keys()].map((path) => [posix.basename(path).replace(/\.ko(\.\w+)?$/, ''), path]),
  );
  const builtin = new Set(
    readOptional(join(modulesDir, 'modules.builtin'))
      .split('\n')
      .map((path) => posix.basename(path).replace(/\.ko$/, '')),
  );
  const order: string[] = [];
  const visit = (path: string) => {
    if (order.includes(path)) return;
    for (const dep of [...(deps.get(path) ?? [])].reverse()) visit(dep);
    order.push(path);
  };
  for (const name of wanted) {
    if (builtin.has(name)) continue;
    const path = byName.get(name) ?? byName.get(name.replace(/_/g, '-'));
    if (!path) throw new Error(`the kernel has no module ${name} (built in, or missing?)`);
    if (/\.ko\.\w+$/.test(path))
      throw new Error(`the kernel's module ${path} is compressed; busybox insmod needs it plain`);
    visit(path);
  }
  return order;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

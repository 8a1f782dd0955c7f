// Where guest-boundary.test.ts runs its processes. They run as unprivileged users, who may not
// be able to read this repository (it can live under a private folder such as /root), so each
// script is bundled into one self-contained file and put, with a copy of the native add-on, in
// a fresh folder every user can read.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ADDON = join(
  dirname(createRequire(import.meta.url).resolve('@vrdma/memory/package.json')),
  'build/Release/vrdma_memory.node',
);
const SCRIPTS = ['host', 'guest', 'attacker'] as const;
export type Script = (typeof SCRIPTS)[number];

export interface Sandbox {
  readonly dir: string;
  /** Where the host listens: in a folder of the host's user that every user can pass. */
  readonly socketPath: string;
  script(name: Script): string;
  remove(): void;
}

/** Throws a one-line reason when this machine cannot run the test's processes. */
export function checkMachine(): void {
  if (process.platform !== 'linux') cannotTest(`this is ${process.platform}, not Linux`);
  if (process.getuid?.() !== 0) cannotTest('starting processes of other users needs root');
  if (!existsSync(ADDON)) cannotTest(`the add-on is not built (${ADDON}); run npm rebuild`);
  const node = realpathSync(process.execPath);
  if ((statSync(node).mode & 0o005) !== 0o005) cannotTest(`${node} is not runnable by all`);
  const blocked = blockedFolder(node);
  if (blocked) cannotTest(`${blocked}, on the way to ${node}, cannot be passed by other users`);
}

/**
 * A fresh folder every user can read:
 *   bin/<script>.mjs                  each script bundled with everything it imports
 *   build/Release/vrdma_memory.node   where @vrdma/memory's loader, bundled into bin/, looks
 *                                     (../build/Release/ from its module, as from its src/)
 *   run/                              the host user's, where its socket goes
 */
export async function createSandbox(hostUser: number): Promise<Sandbox> {
  const dir = mkdtempSync(join(reachableTempFolder(), 'vrdma-boundary-'));
  try {
    chmodSync(dir, 0o755);
    await build({
      entryPoints: Object.fromEntries(
        SCRIPTS.map((name) => [name, fileURLToPath(new URL(`./${name}.ts`, import.meta.url))]),
      ),
      outdir: join(dir, 'bin'),
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // The workspace packages' TypeScript sources, as the tests use them: no build needed.
      conditions: ['@vrdma/source'],
      // msgpackr's optional accelerator is not built here; msgpackr falls back to JavaScript.
      external: ['msgpackr-extract'],
      logLevel: 'silent',
    });
    mkdirSync(join(dir, 'build/Release'), { recursive: true, mode: 0o755 });
    copyFileSync(ADDON, join(dir, 'build/Release/vrdma_memory.node'));
    mkdirSync(join(dir, 'run'), { mode: 0o755 });
    chownSync(join(dir, 'run'), hostUser, hostUser);
    for (const path of [join(dir, 'bin'), join(dir, 'build'), join(dir, 'build/Release')])
      chmodSync(path, 0o755);
    for (const name of SCRIPTS) chmodSync(join(dir, 'bin', `${name}.mjs`), 0o644);
    chmodSync(join(dir, 'build/Release/vrdma_memory.node'), 0o644);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    socketPath: join(dir, 'run', 'host.sock'),
    script: (name) => join(dir, 'bin', `${name}.mjs`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function cannotTest(reason: string): never {
  throw new Error(`cannot test the guest boundary on this machine: ${reason}`);
}

/** The first folder on the way to `path` that other users cannot pass, if any. */
function blockedFolder(path: string): string | undefined {
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) return folder;
    if (folder === dirname(folder)) return undefined;
  }
}

function reachableTempFolder(): string {
  for (const parent of [tmpdir(), '/tmp', '/dev/shm']) {
    if (existsSync(parent) && !blockedFolder(join(parent, 'x'))) return parent;
  }
  return cannotTest(`no temporary folder that other users can reach (${tmpdir()}, /tmp)`);
}

// The packages as a consumer gets them: packs every workspace, installs the tarballs into an
// empty project outside the repository (so nothing resolves through the workspace), checks
// each package holds what it needs at run time, and runs the README's library examples and
// the vrdma command with plain node. Run after `npm run build`: it packs dist/ as it is.
// Any problem ends it with one line saying what is wrong.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (line) => console.log(`consumer test: ${line}`);

class Failure extends Error {}
const fail = (message) => {
  throw new Failure(message);
};

/** The two code blocks of the README's "Use it as a library" section, as written. */
function readmeExamples() {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Use it as a library\n'));
  if (!section) fail('README.md has no "## Use it as a library" section');
  const blocks = [...section.matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const [host, guest] = blocks;
  if (blocks.length !== 2 || !host.startsWith('// host.mjs') || !guest.startsWith('// guest.mjs'))
    fail('"Use it as a library" in README.md must hold two code blocks: host.mjs, then guest.mjs');
  // The package READMEs carry copies for readers on the registry; this README is the source.
  for (const [pkg, block, name] of [
    ['backend', host, 'host'],
    ['frontend', guest, 'guest'],
  ]) {
    if (!readFileSync(join(repo, 'packages', pkg, 'README.md'), 'utf8').includes(block))
      fail(`packages/${pkg}/README.md does not hold README.md's ${name} example verbatim`);
  }
  return { host, guest };
}

/** Runs a command to its end; resolves with its exit and output, whatever the exit. */
function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Like run, but a non-zero exit is a failure, shown with what the command wrote. */
async function mustRun(what, command, args, options) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    fail(`${what} failed (${result.signal ?? `exit ${result.code}`}), its output is above`);
  }
  return result;
}

/** Node without anything the caller may have put in NODE_OPTIONS (a loader, conditions). */
function plainNodeEnv() {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

async function pack(destination) {
  mkdirSync(destination);
  const { stdout } = await mustRun(
    'npm pack',
    'npm',
    ['pack', '--workspaces', '--json', '--pack-destination', destination],
    { cwd: repo },
  );
  const packed = JSON.parse(stdout);
  say(`packed ${packed.map((p) => `${p.name} (${p.entryCount} files)`).join(', ')}`);
  return packed;
}

async function install(consumer, packed) {
  const dependencies = Object.fromEntries(
    packed.map((p) => [p.name, `file:${join(consumer, 'tarballs', p.filename)}`]),
  );
  const manifest = {
    name: 'vrdma-consumer',
    private: true,
    type: 'module',
    dependencies,
    // The README asks consumers for `"@vrdma/memory": true`; npm matches a tarball dependency
    // by where it came from instead, so here the key is the tarball. msgpackr's optional
    // accelerator is denied, as in the repository.
    allowScripts: { [dependencies['@vrdma/memory']]: true, 'msgpackr-extract': false },
  };
  writeFileSync(join(consumer, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Strict: an install script the allowScripts above does not cover fails the install, so
  // the add-on below is built because the approval let it, as it will be for consumers.
  await mustRun(
    'npm install',
    'npm',
    ['install', '--no-audit', '--no-fund', '--strict-allow-scripts'],
    { cwd: consumer },
  );
  const lock = JSON.parse(readFileSync(join(consumer, 'package-lock.json'), 'utf8')).packages;
  const thirdParty = [];
  for (const [path, entry] of Object.entries(lock)) {
    if (path === '') continue;
    if (/(^|\/)node_modules\/(@vrdma\/[^/]+|vrdma)$/.test(path)) {
      if (!entry.resolved?.startsWith('file:'))
        fail(`${path} was installed from ${entry.resolved ?? 'nowhere'}, not from its tarball`);
    } else if (existsSync(join(consumer, path))) {
      // Optional dependencies for other platforms are in the lock but not on disk.
      thirdParty.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version}`);
    }
  }
  if (!existsSync(join(consumer, 'node_modules/@vrdma/memory/build/Release/vrdma_memory.node')))
    fail("@vrdma/memory's install script did not build its native add-on");
  say(`installed the ${packed.length} tarballs, and from the registry ${thirdParty.join(', ')}`);
  say("@vrdma/memory's install script built its native add-on");
}

/** The paths a manifest points at: exports (but the sources' condition), bin, main. */
function entryPaths(manifest) {
  const paths = [];
  const walk = (target) => {
    if (typeof target === 'string') paths.push(target);
    else if (target && typeof target === 'object')
      for (const [condition, inner] of Object.entries(target))
        if (condition !== '@vrdma/source') walk(inner);
  };
  walk(manifest.exports);
  walk(manifest.bin);
  walk(manifest.main);
  return paths;
}

const IMPORT =
  /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/**
 * Every installed package has the files its manifest names, and lists what its code and types
 * import: in a flat node_modules a missing dependency still resolves, through a sibling's.
 */
function checkPackages(consumer, packed) {
  for (const { name } of packed) {
    const root = join(consumer, 'node_modules', name);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    for (const path of entryPaths(manifest))
      if (!existsSync(join(root, path)))
        fail(`${name}: ${path} is named in package.json but not in the package (built?)`);
    const declared = new Set(
      ['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((field) =>
        Object.keys(manifest[field] ?? {}),
      ),
    );
    const files = readdirSync(join(root, 'dist'), { recursive: true }).filter((file) =>
      /\.(js|d\.ts)$/.test(file),
    );
    for (const file of files) {
      const code = readFileSync(join(root, 'dist', file), 'utf8');
      for (const match of code.matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2] ?? match[3];
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        if (builtinModules.includes(specifier)) continue;
        const dependency = specifier.split('/', specifier.startsWith('@') ? 2 : 1).join('/');
        if (dependency !== name && !declared.has(dependency))
          fail(`${name}: dist/${file} imports ${dependency}, which its package.json does not list`);
      }
    }
  }
  say('every package holds the files it names and lists what it imports');
}

/** Starts the host example and resolves with it once it printed its "serving" line. */
function startHost(consumer, socket) {
  const host = spawn(process.execPath, ['host.mjs', socket], {
    cwd: consumer,
    env: plainNodeEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  host.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) =>
    host.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    // Only against a hang: a host that never serves would otherwise stall CI.
    const timer = setTimeout(() => {
      host.kill('SIGKILL');
      reject(new Failure(`host.mjs printed no "serving" line within 30 s: ${stderr.trim()}`));
    }, 30_000);
    host.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((l) => l.startsWith('serving '));
      if (line) {
        clearTimeout(timer);
        resolve({ host, exited, line, stderr: () => stderr });
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Failure(
          `host.mjs ended (${signal ?? `exit ${code}`}) before serving: ${stderr.trim()}`,
        ),
      );
    });
  });
}

async function runExamples(consumer, { host: hostCode, guest: guestCode }) {
  writeFileSync(join(consumer, 'host.mjs'), hostCode);
  writeFileSync(join(consumer, 'guest.mjs'), guestCode);
  const socket = join(consumer, 'vrdma.sock');
  const { host, exited, line, stderr } = await startHost(consumer, socket);
  try {
    say(`host.mjs: ${line}`);
    const guest = await run(process.execPath, ['guest.mjs', socket], {
      cwd: consumer,
      env: plainNodeEnv(),
      timeout: 60_000,
    });
    const wrote = guest.stdout.split('\n').find((l) => l.startsWith('write '));
    if (guest.code !== 0 || !/^write \d+: ok, 4096 bytes, landed: 42$/.test(wrote ?? ''))
      fail(
        `guest.mjs (${guest.signal ?? `exit ${guest.code}`}) printed "${guest.stdout.trim()}", ` +
          `not that 4096 bytes were written ok and landed as 42: ${guest.stderr.trim()}`,
      );
    say(`guest.mjs: ${wrote}`);
  } finally {
    host.kill('SIGTERM');
  }
  const { code, signal } = await exited;
  if (code !== 0)
    fail(`host.mjs ended with ${signal ?? `exit ${code}`} on SIGTERM: ${stderr().trim()}`);
  if (existsSync(socket)) fail('host.mjs left its socket behind on SIGTERM');
  say('host.mjs: exit 0 on SIGTERM, socket removed');
}

async function runCommand(consumer) {
  // The app's bin, its built guest entry scripts and the add-on, as a consumer runs them.
  const { stdout } = await mustRun(
    'vrdma demo',
    join(consumer, 'node_modules/.bin/vrdma'),
    ['demo', '--guests', 'process', '--count', '1'],
    { cwd: consumer, env: plainNodeEnv(), timeout: 120_000 },
  );
  const done = stdout.split('\n').find((l) => l.startsWith('done in '));
  if (!done?.endsWith('all transfers verified'))
    fail(`vrdma demo did not verify its transfers: ${stdout.trim()}`);
  say('vrdma demo --guests process: all transfers verified');
}

const consumer = mkdtempSync(join(tmpdir(), 'vrdma-consumer-'));
try {
  if (!relative(repo, consumer).startsWith('..'))
    fail(`the temporary folder ${consumer} is inside the repository; set TMPDIR elsewhere`);
  for (let dir = consumer; dir !== dirname(dir); ) {
    dir = dirname(dir);
    if (existsSync(join(dir, 'node_modules')))
      fail(`${dir} has a node_modules the consumer would resolve through; set TMPDIR elsewhere`);
  }
  const examples = readmeExamples();
  const packed = await pack(join(consumer, 'tarballs'));
  await install(consumer, packed);
  checkPackages(consumer, packed);
  await runExamples(consumer, examples);
  await runCommand(consumer);
  say('ok');
} catch (error) {
  console.error(`consumer test failed: ${error instanceof Failure ? error.message : error}`);
  process.exitCode = 1;
} finally {
  rmSync(consumer, { recursive: true, force: true });
}

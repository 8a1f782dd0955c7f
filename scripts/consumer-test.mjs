// The packages as a consumer gets them: publishes every workspace with `nx release publish` to a
// private registry on a loopback port (verdaccio; nothing of ours reaches any other registry),
// installs them from it into an empty project outside the repository (so nothing resolves
// through the workspace), checks each package holds what it needs at run time, and runs the
// README's library examples and `npx vrdma demo` with plain node. Run after `npm run build`: it
// publishes dist/ as it is. Any problem ends it with one line saying what is wrong.
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
import { startLocalRegistry } from './local-registry.mjs';

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

/**
 * The environment for npm against the private registry. `npm run` hands its own settings to
 * scripts as npm_config_* variables (the caller's user configuration, registry and lockfile
 * options among them), and those outrank a user configuration file: drop the ones that would
 * point npm elsewhere or keep the lockfile from saying where a package came from.
 */
function npmEnv(registry) {
  const overridden = ['userconfig', 'registry', 'omit_lockfile_registry_resolved'];
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !overridden.some((name) => key.toLowerCase() === `npm_config_${name}`),
    ),
  );
  return { ...env, NPM_CONFIG_USERCONFIG: registry.npmrc };
}

/** The workspaces a release publishes: every package that is not private. */
function publishable() {
  const { workspaces } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  return workspaces
    .flatMap((pattern) => {
      const parent = join(repo, pattern.replace(/\/\*$/, ''));
      return readdirSync(parent).map((dir) => join(parent, dir, 'package.json'));
    })
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')))
    .filter((manifest) => !manifest.private)
    .map(({ name, version }) => ({ name, version }));
}

/** Publishes every package with the release tooling, to the private registry only. */
async function publish(registry) {
  const env = {
    ...npmEnv(registry),
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
  };
  await mustRun(
    'nx release publish',
    'npx',
    ['nx', 'release', 'publish', '--registry', registry.url],
    { cwd: repo, env },
  );
  const packages = publishable();
  for (const { name, version } of packages) {
    const response = await fetch(`${registry.url}${name.replace('/', '%2f')}`);
    const document = response.ok ? await response.json() : {};
    if (!document.versions?.[version])
      fail(`${name}@${version} is not in the local registry after nx release publish`);
  }
  say(
    `published to the local registry: ${packages.map((p) => `${p.name}@${p.version}`).join(', ')}`,
  );
  return packages;
}

async function install(consumer, packages, registry) {
  const dependencies = Object.fromEntries(packages.map((p) => [p.name, p.version]));
  const manifest = {
    name: 'vrdma-consumer',
    private: true,
    type: 'module',
    dependencies,
    // What the README asks of consumers: the add-on's build is allowed, msgpackr's optional
    // accelerator is denied, as in the repository.
    allowScripts: {
      '@vrdma/memory': true,
      '@vrdma/engine-libfabric': true,
      'msgpackr-extract': false,
    },
  };
  writeFileSync(join(consumer, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Strict: an install script the allowScripts above does not cover fails the install, so
  // the add-on below is built because the approval let it, as it will be for consumers.
  await mustRun(
    'npm install',
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--strict-allow-scripts',
      `--registry=${registry.url}`,
      // The check below reads where each package came from out of the lockfile.
      '--omit-lockfile-registry-resolved=false',
    ],
    { cwd: consumer, env: npmEnv(registry) },
  );
  const lock = JSON.parse(readFileSync(join(consumer, 'package-lock.json'), 'utf8')).packages;
  const thirdParty = [];
  for (const [path, entry] of Object.entries(lock)) {
    if (path === '') continue;
    if (/(^|\/)node_modules\/(@vrdma\/[^/]+|vrdma)$/.test(path)) {
      if (!entry.resolved?.startsWith(registry.url))
        fail(`${path} was installed from ${entry.resolved ?? 'nowhere'}, not the local registry`);
    } else if (existsSync(join(consumer, path))) {
      // Optional dependencies for other platforms are in the lock but not on disk.
      thirdParty.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version}`);
    }
  }
  if (!existsSync(join(consumer, 'node_modules/@vrdma/memory/build/Release/vrdma_memory.node')))
    fail("@vrdma/memory's install script did not build its native add-on");
  say(
    `installed the ${packages.length} packages from the local registry, and ${thirdParty.join(', ')}`,
  );
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
function checkPackages(consumer, packages) {
  const license = readFileSync(join(repo, 'LICENSE'), 'utf8');
  for (const { name } of packages) {
    const root = join(consumer, 'node_modules', name);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    if (
      !existsSync(join(root, 'LICENSE')) ||
      readFileSync(join(root, 'LICENSE'), 'utf8') !== license
    )
      fail(`${name}: its package does not hold the repository's LICENSE`);
    if (!existsSync(join(root, 'README.md'))) fail(`${name}: its package has no README.md`);
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
  say('every package holds its LICENSE, its README, the files it names and lists what it imports');
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
    'npx vrdma demo',
    'npx',
    ['--no-install', 'vrdma', 'demo', '--guests', 'process', '--count', '1'],
    { cwd: consumer, env: plainNodeEnv(), timeout: 120_000 },
  );
  const done = stdout.split('\n').find((l) => l.startsWith('done in '));
  if (!done?.endsWith('all transfers verified'))
    fail(`vrdma demo did not verify its transfers: ${stdout.trim()}`);
  say('npx vrdma demo --guests process: all transfers verified');
}

const consumer = mkdtempSync(join(tmpdir(), 'vrdma-consumer-'));
let registry;
try {
  if (!relative(repo, consumer).startsWith('..'))
    fail(`the temporary folder ${consumer} is inside the repository; set TMPDIR elsewhere`);
  for (let dir = consumer; dir !== dirname(dir); ) {
    dir = dirname(dir);
    if (existsSync(join(dir, 'node_modules')))
      fail(`${dir} has a node_modules the consumer would resolve through; set TMPDIR elsewhere`);
  }
  const examples = readmeExamples();
  const registryFolder = join(consumer, 'registry');
  mkdirSync(registryFolder);
  registry = await startLocalRegistry(registryFolder);
  say(`a private registry listens at ${registry.url}`);
  const packages = await publish(registry);
  const project = join(consumer, 'project');
  mkdirSync(project);
  await install(project, packages, registry);
  checkPackages(project, packages);
  await runExamples(project, examples);
  await runCommand(project);
  say('ok');
} catch (error) {
  console.error(`consumer test failed: ${error instanceof Failure ? error.message : error}`);
  if (registry && !(error instanceof Failure)) console.error(registry.log());
  process.exitCode = 1;
} finally {
  await registry?.stop();
  rmSync(consumer, { recursive: true, force: true });
}

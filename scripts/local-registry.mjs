// A private npm registry for the consumer test: verdaccio on a loopback port, its storage in a
// folder of the caller's, a user of its own. Packages of ours (@vrdma/*, vrdma) live only
// there: it never asks another registry for them, so a test install can only get what the test
// published. Everything else it fetches from the public registry, as a consumer's install would.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));

const CONFIG = `storage: ./storage
auth:
  htpasswd:
    file: ./htpasswd
    max_users: 1
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
packages:
  '@vrdma/*':
    access: $all
    publish: $authenticated
  'vrdma':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
    proxy: npmjs
log: { type: stdout, format: pretty, level: warn }
`;

/** A free loopback port, from the system. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url, child, log) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null)
      throw new Error(`verdaccio ended (exit ${child.exitCode}) before serving: ${log().trim()}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`verdaccio did not answer at ${url} within 30 s: ${log().trim()}`);
}

/** Creates the registry's one user; its token is what npm publishes with. */
async function createUser(url) {
  const name = 'vrdma-ci';
  const response = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `local-${process.pid}-${Date.now()}` }),
  });
  const body = await response.json();
  if (!response.ok || typeof body.token !== 'string')
    throw new Error(`the local registry refused to create a user: ${JSON.stringify(body)}`);
  return body.token;
}

/**
 * Starts the registry in `folder`. Resolves with its URL and an npm user configuration file
 * that points npm at it, with the token to publish; `stop()` ends it.
 */
export async function startLocalRegistry(folder) {
  writeFileSync(join(folder, 'config.yaml'), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(
    join(repo, 'node_modules/.bin/verdaccio'),
    ['--config', join(folder, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (chunk) => {
    log += chunk;
  });
  child.stderr.on('data', (chunk) => {
    log += chunk;
  });
  const exited = new Promise((resolve) => child.once('close', resolve));
  await waitUntilUp(url, child, () => log);
  const token = await createUser(url);
  const npmrc = join(folder, 'npmrc');
  writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  return {
    url,
    npmrc,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, startCli, waitForOutput } from './testing/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vrdma-fabric-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the process has printed `text` on stderr. */
function waitForStderr(child: ReturnType<typeof startCli>, text: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${text} on stderr; saw: ${seen}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (text.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe('vrdma host --cluster --fabric-secret', () => {
  it(
    'keeps a node with another secret out of the cluster, each host saying why in one line',
    async () => {
      const cluster = join(dir, 'cluster.json');
      const ports = [await freePort(), await freePort()];
      writeFileSync(
        cluster,
        JSON.stringify({ nodes: ports.map((port, id) => ({ id, host: '127.0.0.1', port })) }),
      );
      const secretFile = (name: string, secret: string) => {
        const path = join(dir, name);
        writeFileSync(path, `${secret}\n`, { mode: 0o600 });
        return path;
      };
      const hosts = [
        ['node0.sock', 0, secretFile('a.secret', 'the-cluster-secret-0123456789')],
        ['node1.sock', 1, secretFile('b.secret', 'another-secret-9876543210xyz')],
      ].map(([socket, node, secret]) =>
        startCli([
          'host',
          '--socket',
          join(dir, socket as string),
          '--cluster',
          cluster,
          '--node',
          String(node),
          '--fabric-secret',
          secret as string,
        ]),
      );
      try {
        const logs = hosts.map((host, node) =>
          waitForStderr(host, new RegExp(`fabric: node ${node} refused node ${1 - node} at `)),
        );
        await Promise.all(hosts.map((host) => waitForOutput(host, 'listening on')));
        for (const line of await Promise.all(logs)) {
          expect(line).toMatch(/wrong fabric secret/);
          expect(line).not.toMatch(/no secret/);
        }
      } finally {
        for (const host of hosts) host.kill('SIGKILL');
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

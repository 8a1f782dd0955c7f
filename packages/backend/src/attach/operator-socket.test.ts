import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTACH_PROTOCOL_VERSION } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHost, type Host, type HostOptions } from '../host.js';
import { service } from '../service.js';
import { tokenDigest } from '../weight-grants.js';
import { type HostListener, listen } from './listen.js';
import { type OperatorListener, serveOperator } from './operator-socket.js';

const GOLD_TOKEN = 'gold-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e';

let dir: string;
let host: Host;
let guests: HostListener | undefined;
let operator: OperatorListener | undefined;
const open: Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-operator-'));
});

afterEach(async () => {
  for (const socket of open.splice(0)) socket.destroy();
  await host?.close();
  await guests?.close();
  await operator?.close();
  guests = undefined;
  operator = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(config: HostOptions['config'] = {}, mode?: number) {
  host = createHost({
    services: [service(unimemSpec, createMockCluster({ nodes: [0] }).engine(0))],
    config,
  });
  guests = await listen(host, { path: join(dir, 'guests.sock'), mode });
  operator = await serveOperator(host, { path: join(dir, 'operator.sock') });
}

/** Sends one request line and resolves with the first line answered, parsed; keeps the socket open. */
function ask(path: string, request: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    open.push(socket);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline !== -1) resolve(JSON.parse(text.slice(0, newline)));
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a line: ${text}`)));
    socket.write(`${JSON.stringify(request)}\n`);
  });
}

const attachAs = (label: string, token?: string) => ({
  type: 'attach',
  version: ATTACH_PROTOCOL_VERSION,
  label,
  memoryBytes: 4096,
  ...(token !== undefined ? { token } : {}),
});

describe("who may read a host's stats", () => {
  it("answers stats on the guests' socket with PERMISSION_DENIED, and only on the owner-only operator socket", async () => {
    await start();
    expect(await ask(guests!.path, attachAs('tenant-a'))).toMatchObject({ type: 'welcome' });

    const denied = await ask(guests!.path, { type: 'stats' });
    expect(denied).toMatchObject({ type: 'error', code: 'PERMISSION_DENIED' });
    expect(JSON.stringify(denied)).not.toContain('tenant-a');

    expect(statSync(operator!.path).mode & 0o777).toBe(0o600);
    const stats = await ask(operator!.path, { type: 'stats' });
    expect(stats.type).toBe('stats');
    expect((stats.guests as Array<{ label: string }>).map((g) => g.label)).toEqual(['tenant-a']);
    // The operator socket serves stats, not guests.
    expect(await ask(operator!.path, attachAs('sneaky'))).toMatchObject({
      type: 'error',
      code: 'INVALID_ARGUMENT',
    });
    expect(host.guests()).toHaveLength(1);
  });
});

describe("keeping the guests' socket apart from the operator's", () => {
  it("opens the guests' socket to a group on request, never to the world; the operator's stays owner-only", async () => {
    await start({}, 0o660);
    expect(statSync(guests!.path).mode & 0o777).toBe(0o660);
    expect(statSync(operator!.path).mode & 0o777).toBe(0o600);
    await expect(listen(host, { path: join(dir, 'world.sock'), mode: 0o666 })).rejects.toThrow(
      /only owner and group bits/,
    );
  });
});

describe('how a guest earns a weight', () => {
  it('grants weights by secret token only: a label claims nothing, a wrong token is refused', async () => {
    // `weights` by label stays for guests the host's own code attaches; a socket guest's label is its claim.
    await start({
      weights: { gold: 5 },
      weightGrants: [{ sha256: tokenDigest(GOLD_TOKEN), weight: 3 }],
    });
    expect(await ask(guests!.path, attachAs('gold'))).toMatchObject({ type: 'welcome' });
    expect(await ask(guests!.path, attachAs('paid', GOLD_TOKEN))).toMatchObject({
      type: 'welcome',
    });
    const wrong = await ask(guests!.path, attachAs('forger', `${GOLD_TOKEN}x`));
    expect(wrong).toMatchObject({ type: 'error', code: 'PERMISSION_DENIED' });

    const weights = Object.fromEntries(host.guests().map((g) => [g.label, g.weight]));
    expect(weights).toEqual({ gold: 1, paid: 3 });
  });

  it('refuses a host config that names a grant by anything but a SHA-256 digest', () => {
    expect(() =>
      createHost({
        services: [service(unimemSpec, createMockCluster({ nodes: [0] }).engine(0))],
        config: { weightGrants: [{ sha256: GOLD_TOKEN, weight: 2 }] },
      }),
    ).toThrow(/SHA-256/);
  });
});

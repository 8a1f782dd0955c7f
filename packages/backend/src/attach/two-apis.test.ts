import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shortFingerprint } from '@vrdma/api-spec';
import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AttachedGuest, createHost, type Host } from '../host.js';
import { service } from '../service.js';
import { createKvEngine, type KvEngine, kvSpec } from '../test-fixtures/kv-api/index.js';
import { patternOf } from '../test-fixtures/pattern.js';
import { grownKvSpec } from '../test-fixtures/stranger-specs.js';
import { type GuestProcess, spawnGuest } from '../testing/guest-process.js';
import { exportedPeerBuffer } from '../testing/unimem-peer.js';
import { type HostListener, listen } from './listen.js';

const fixture = (name: string) =>
  fileURLToPath(new URL(`../test-fixtures/${name}`, import.meta.url));
const UNIMEM_GUEST = fixture('unimem-process-guest.ts');
const KV_GUEST = fixture('kv-process-guest.ts');
const STRANGER_GUEST = fixture('stranger-process-guest.ts');

const KEYS_PER_ROUND = 4;
const VALUE_BYTES = 8192;

let dir: string;
let cluster: MockCluster;
let kvEngine: KvEngine;
let host: Host;
let listener: HostListener | undefined;
const guests: GuestProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-two-apis-'));
  cluster = createMockCluster({ nodes: [0, 1] });
  kvEngine = createKvEngine();
  // One host, two APIs: each a spec and its engine, and nothing else.
  host = createHost({
    services: [service(unimemSpec, cluster.engine(0)), service(kvSpec, kvEngine)],
  });
});

afterEach(async () => {
  for (const guest of guests.splice(0)) guest.child.kill('SIGKILL');
  await host.close();
  await listener?.close();
  listener = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function start(script: string, args: string[]): GuestProcess {
  const guest = spawnGuest(script, args);
  guests.push(guest);
  return guest;
}

/** Checks what the key-value guest's round `round` left in the engine's store, key by key. */
function expectStoredRound(round: number): void {
  for (let i = 0; i < KEYS_PER_ROUND; i++) {
    const key = round * KEYS_PER_ROUND + i;
    expect(kvEngine.stored('orders', key), `key ${key}`).toEqual(patternOf(VALUE_BYTES, key));
  }
}

describe('one host serving two APIs to guest processes at once', () => {
  it('serves a Unimem guest and a key-value guest side by side, refuses a stranger, survives a kill', async () => {
    const path = join(dir, 'host.sock');
    const attached = new Map<string, AttachedGuest>();
    listener = await listen(host, { path, onAttach: (g) => attached.set(g.label, g) });
    const target = await exportedPeerBuffer(cluster);

    // Both start together, and do their first round while both attach.
    const rdma = start(UNIMEM_GUEST, [
      path,
      'rdma-app',
      String(target.key),
      String(target.address),
    ]);
    const kv = start(KV_GUEST, [path, 'kv-app', 'orders', `${KEYS_PER_ROUND}`, `${VALUE_BYTES}`]);
    const [rdma0, kv0] = await Promise.all([rdma.next(), kv.next()]);
    expect(rdma0).toMatchObject({ round: 0, statuses: ['ok', 'ok'], same: true });
    expect(kv0).toMatchObject({ round: 0, same: [true, true, true, true], keys: 4 });
    expect(target.view).toEqual(patternOf(4096, 0));
    expectStoredRound(0);

    const byLabel = () =>
      Object.fromEntries(host.guests().map((g) => [g.label, { api: g.api, ledger: g.ledger }]));
    expect(byLabel()).toEqual({
      'rdma-app': {
        api: 'unimem',
        ledger: { held: { Buffer: 2, Channel: 1 }, bytes: 8192, calls: 0, memory: 1 << 20 },
      },
      'kv-app': {
        api: 'kv-store',
        ledger: { held: { Store: 1, Value: 2 }, bytes: 2 * VALUE_BYTES, calls: 0, memory: 1 << 20 },
      },
    });

    // A second round of each at the same time, while guests built against other APIs knock.
    const [rdma1, kv1, third, grown] = await Promise.all([
      rdma.again(),
      kv.again(),
      start(STRANGER_GUEST, [path, 'counter']).next(),
      start(STRANGER_GUEST, [path, 'grown-kv']).next(),
    ]);
    expect(rdma1).toMatchObject({ round: 1, statuses: ['ok', 'ok'], same: true });
    expect(kv1).toMatchObject({ round: 1, same: [true, true, true, true], keys: 8 });
    expect(target.view).toEqual(patternOf(4096, 1));
    expectStoredRound(1);
    expect(third).toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    expect(third.message).toContain(`this host serves ${host.serves}`);
    expect(host.serves).toBe(
      `unimem v1 (${shortFingerprint(unimemSpec.fingerprint)}), kv-store v2 (${shortFingerprint(kvSpec.fingerprint)})`,
    );
    expect(grown).toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    expect(grown.message).toContain(`kv-store v2 (${shortFingerprint(grownKvSpec.fingerprint)})`);
    expect(grown.message).toContain(
      `host serves kv-store v2 (${shortFingerprint(kvSpec.fingerprint)})`,
    );
    // The strangers held nothing and are gone: they never said a hello the host accepted.
    for (const label of ['stranger-counter', 'stranger-grown-kv'])
      expect(await attached.get(label)!.departed).toMatchObject({
        api: undefined,
        ledger: { held: {}, bytes: 0, calls: 0, memory: 0 },
      });

    // The key-value guest dies without a word: everything it held is released.
    kv.child.kill('SIGKILL');
    const departed = await attached.get('kv-app')!.departed;
    expect(departed).toMatchObject({
      api: 'kv-store',
      ledger: { held: {}, bytes: 0, calls: 0, memory: 0 },
    });
    const served = kvEngine.journal.filter((e) => e.session === 'kv-app' && !e.error);
    const handles = (fn: string) => served.filter((e) => e.fn === fn).map((e) => e.handle);
    expect(handles('closeStore')).toEqual(handles('openStore'));
    expect(handles('freeValue').sort()).toEqual(handles('allocValue').sort());
    expect(handles('freeValue')).toHaveLength(2);
    expect(served.at(-1)?.fn).toBe('dispose');
    expect(kvEngine.heldBy('kv-app')).toEqual({ stores: 0, values: 0 });

    // The Unimem guest never noticed.
    expect(await rdma.again()).toMatchObject({ round: 2, statuses: ['ok', 'ok'], same: true });
    expect(target.view).toEqual(patternOf(4096, 2));
    expect(byLabel()).toEqual({
      'rdma-app': {
        api: 'unimem',
        ledger: { held: { Buffer: 2, Channel: 1 }, bytes: 8192, calls: 0, memory: 1 << 20 },
      },
    });
    // What the key-value guest stored outlives it, in the engine.
    expectStoredRound(0);
    expectStoredRound(1);
  }, 120_000);
});

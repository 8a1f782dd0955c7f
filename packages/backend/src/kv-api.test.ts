import { type BufferRef, type Handle, isVrdmaError } from '@vrdma/api-spec';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host, type HostOptions } from './host.js';
import { service } from './service.js';
import { createKvEngine, type KvEngine, kvSpec } from './test-fixtures/kv-api/index.js';
import { counterSpec, grownKvSpec } from './test-fixtures/stranger-specs.js';
import { connectInProcess, type InProcessOptions } from './testing/in-process.js';

// The host below is given the key-value spec and its engine, nothing else: every behaviour
// these tests check is derived from the spec, with no code for this API in the backend.

let engine: KvEngine;
let host: Host;

function start(config: HostOptions['config'] = {}): Host {
  engine = createKvEngine();
  host = createHost({ services: [service(kvSpec, engine)], config });
  return host;
}

async function kvGuest(label: string, options: InProcessOptions = {}) {
  const guest = await connectInProcess(host, kvSpec, { label, ...options });
  return { ...guest, kv: guest.connection.api, view: guest.connection.view };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isVrdmaError(error) ? error.code : `not a VrdmaError: ${String(error)}`;
  }
}

function fill(bytes: Uint8Array, seed: number): Uint8Array {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** What the engine's sessions labelled `label` did, in order, with the engine's handles. */
function journalOf(label: string) {
  return engine.journal.filter((e) => e.session === label && e.error === undefined);
}

afterEach(async () => {
  await host?.close();
});

describe('a second API, served from its spec alone', () => {
  it('moves values zero-copy between the guest’s memory and the engine’s store', async () => {
    start();
    const g = await kvGuest('writer');
    const { store } = await g.kv.openStore({ name: 'photos' });
    const out = await g.kv.allocValue({ size: 4000 });
    const back = await g.kv.allocValue({ size: 4096 });
    expect(out.ref.region).toBe(g.memory.id);
    expect(g.view(out.ref).buffer).toBe(g.memory.bytes.buffer);
    const pattern = fill(g.view(out.ref), 11).slice();

    expect(await g.kv.put({ store, key: 42, from: out.ref })).toEqual({ replaced: false });
    expect(engine.stored('photos', 42)).toEqual(pattern);
    expect(await g.kv.get({ store, key: 42, into: back.ref })).toEqual({ length: 4000 });
    expect(g.view(back.ref).subarray(0, 4000)).toEqual(pattern);
    expect(await g.kv.stat({ store })).toEqual({ name: 'photos', keys: 1, bytes: 4000 });
    expect(await g.kv.list({ store })).toEqual({ keys: [{ key: 42, length: 4000 }] });

    expect(host.guests()).toMatchObject([
      { label: 'writer', api: 'kv-store', ledger: { held: { Store: 1, Value: 2 }, bytes: 8096 } },
    ]);
  });
});

describe('isolation, from the spec’s kinds', () => {
  it('refuses another guest’s Store and Value handles and memory, audits it, and tells the engine nothing', async () => {
    start();
    const a = await kvGuest('a');
    const b = await kvGuest('b');
    const { store: storeA } = await a.kv.openStore({ name: 'private' });
    const valueA = await a.kv.allocValue({ size: 64 });
    fill(a.view(valueA.ref), 1);
    await a.kv.put({ store: storeA, key: 1, from: valueA.ref });
    const { store: storeB } = await b.kv.openStore({ name: 'mine' });
    const valueB = await b.kv.allocValue({ size: 64 });
    const seenByEngine = engine.journal.length;

    expect(await codeOf(b.kv.closeStore({ store: storeA }))).toBe('BAD_HANDLE');
    expect(await codeOf(b.kv.get({ store: storeA, key: 1, into: valueB.ref }))).toBe('BAD_HANDLE');
    expect(await codeOf(b.kv.freeValue({ value: valueA.value }))).toBe('BAD_HANDLE');
    expect(await codeOf(b.kv.put({ store: storeB, key: 1, from: valueA.ref }))).toBe(
      'OUT_OF_RANGE',
    );
    expect(await codeOf(b.kv.get({ store: storeB, key: 1, into: valueA.ref }))).toBe(
      'OUT_OF_RANGE',
    );
    const audited = host.audit.list({ guest: b.attached.id, kind: 'isolation' });
    expect(audited.map((r) => r.message.split(':')[0])).toEqual([
      'closeStore',
      'get',
      'freeValue',
      'put',
      'get',
    ]);
    expect(host.audit.list({ guest: a.attached.id, kind: 'isolation' })).toEqual([]);

    // Mistakes within its own things are errors, not isolation: out of its own region, a
    // Value handle where a Store is due.
    const pastEnd: BufferRef = { region: b.memory.id, offset: b.memory.size - 8, length: 64 };
    expect(await codeOf(b.kv.put({ store: storeB, key: 1, from: pastEnd }))).toBe('OUT_OF_RANGE');
    const wrongKind = valueB.value as unknown as Handle<'Store'>;
    expect(await codeOf(b.kv.stat({ store: wrongKind }))).toBe('BAD_HANDLE');
    expect(host.audit.list({ guest: b.attached.id, kind: 'isolation' })).toHaveLength(5);

    expect(engine.journal.length).toBe(seenByEngine);
    expect(a.view(valueA.ref)).toEqual(fill(new Uint8Array(64), 1));
    expect(await a.kv.stat({ store: storeA })).toEqual({ name: 'private', keys: 1, bytes: 64 });
  });
});

describe('quotas, by the spec’s kind names', () => {
  it('limits Stores by count and Values by the bytes their `size` gives', async () => {
    start({ quotas: { kinds: { Store: 1 }, bytes: 1000 } });
    const g = await kvGuest('g');
    await g.kv.openStore({ name: 'one' });
    expect(await codeOf(g.kv.openStore({ name: 'two' }))).toBe('QUOTA_EXCEEDED');
    const big = await g.kv.allocValue({ size: 600 });
    expect(await codeOf(g.kv.allocValue({ size: 500 }))).toBe('QUOTA_EXCEEDED');
    await g.kv.allocValue({ size: 400 });
    expect(host.guests()[0]!.ledger).toEqual({
      held: { Store: 1, Value: 2 },
      bytes: 1000,
      calls: 0,
      memory: 8 << 20,
    });

    await g.kv.freeValue({ value: big.value });
    await g.kv.allocValue({ size: 500 });
    expect(host.guests()[0]!.ledger).toMatchObject({ held: { Store: 1, Value: 2 }, bytes: 900 });
    expect(host.audit.list({ kind: 'quota' }).map((r) => r.message)).toEqual([
      'openStore: quota of 1 Store reached',
      'allocValue: quota of 1000 bytes reached',
    ]);
    expect(journalOf('g').map((e) => e.fn)).toEqual([
      'openStore',
      'allocValue',
      'allocValue',
      'freeValue',
      'allocValue',
    ]);
  });
});

describe('cleanup, from the spec’s release functions', () => {
  it('closes every Store and frees every Value of a guest whose transports drop', async () => {
    start();
    const victim = await kvGuest('victim');
    const survivor = await kvGuest('survivor');
    const stores = [
      (await victim.kv.openStore({ name: 'alpha' })).store,
      (await victim.kv.openStore({ name: 'beta' })).store,
    ];
    const value = await victim.kv.allocValue({ size: 128 });
    await victim.kv.allocValue({ size: 256 });
    for (const store of stores) await victim.kv.put({ store, key: 5, from: value.ref });
    const { store: kept } = await survivor.kv.openStore({ name: 'alpha' });

    await victim.crash();
    const departed = await victim.attached.departed;
    expect(departed.ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 0 });
    expect(departed.reason).toMatch(/closed/);

    const calls = journalOf('victim');
    const made = (fn: string) => calls.filter((e) => e.fn === fn).map((e) => e.handle);
    expect(made('closeStore').sort()).toEqual(made('openStore').sort());
    expect(made('freeValue').sort()).toEqual(made('allocValue').sort());
    expect(made('closeStore')).toHaveLength(2);
    expect(made('freeValue')).toHaveLength(2);
    expect(calls.at(-1)?.fn).toBe('dispose');
    expect(engine.heldBy('victim')).toEqual({ stores: 0, values: 0 });

    // The survivor is untouched, and what the victim stored stays in the engine.
    expect(engine.heldBy('survivor')).toEqual({ stores: 1, values: 0 });
    expect(await survivor.kv.stat({ store: kept })).toEqual({ name: 'alpha', keys: 1, bytes: 128 });
  });
});

describe('scheduling, from the spec’s buffer references', () => {
  it('charges each served data-plane call the bytes of its buffer reference, and nothing else', async () => {
    start();
    const g = await kvGuest('g');
    const { store } = await g.kv.openStore({ name: 's' });
    const from = await g.kv.allocValue({ size: 1000 });
    const into = await g.kv.allocValue({ size: 4096 });
    await g.kv.put({ store, key: 1, from: from.ref });
    await g.kv.get({ store, key: 1, into: into.ref });
    await g.kv.list({ store });
    const foreign: BufferRef = { region: g.memory.id + 1000, offset: 0, length: 777 };
    expect(await codeOf(g.kv.put({ store, key: 2, from: foreign }))).toBe('OUT_OF_RANGE');

    const { metrics } = host.guests()[0]!;
    expect(metrics.scheduled).toEqual({ bytes: 1000 + 4096, contendedBytes: 0 });
    expect(metrics.calls).toMatchObject({ put: 2, get: 1, list: 1 });
    expect(metrics.transports.data.messages).toBe(3);
  });
});

describe('the handshake, from the spec’s fingerprint', () => {
  it('refuses a guest built against a changed key-value spec, or a third API, naming what it serves', async () => {
    start();
    for (const spec of [grownKvSpec, counterSpec]) {
      const error = await connectInProcess(host, spec).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
      expect((error as Error).message).toContain(host.serves);
    }
    expect(host.serves).toMatch(/^kv-store v2 \([0-9a-f]{8}\)$/);
  });
});

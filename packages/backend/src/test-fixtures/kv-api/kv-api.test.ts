import { createDispatcher, createLoopbackLink, createStub, type Handle } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { createKvEngine, type KvEngine } from './engine.js';
import { kvSpec } from './spec.js';

/** An engine session reached through the whole wire path: stub → frame → dispatcher → engine. */
function remoted(engine: KvEngine, label: string) {
  const session = engine.openSession({ label });
  const api = createStub(kvSpec, createLoopbackLink(createDispatcher(kvSpec, session)));
  return { api, view: session.view.bind(session), session };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: { code?: string }) => error.code ?? String(error),
  );
}

describe('the key-value spec', () => {
  it('gives the host what it needs: kinds to release, a sized kind, buffers, data-plane costs', () => {
    expect(kvSpec.resources.releaseOrder.map((k) => [k.kind, k.release, k.field])).toEqual([
      ['Store', 'closeStore', 'store'],
      ['Value', 'freeValue', 'value'],
    ]);
    expect(kvSpec.resources.handles.Value?.bytes).toBe('size');
    expect(kvSpec.resources.usesBuffers).toBe(true);
    const ref = { region: 1, offset: 64, length: 300 };
    expect(kvSpec.lookup('put')!.cost({ store: 1, key: 1, from: ref })).toBe(300);
    expect(kvSpec.lookup('get')!.cost({ store: 1, key: 1, into: ref })).toBe(300);
    expect(kvSpec.lookup('list')!.cost({ store: 1 })).toBe(0);
  });
});

describe('the key-value engine, through stub and dispatcher', () => {
  it('copies values between the tenant’s memory and its stores, shared by name', async () => {
    const engine = createKvEngine();
    const a = remoted(engine, 'a');
    const { store } = await a.api.openStore({ name: 'shared' });
    const out = await a.api.allocValue({ size: 300 });
    const back = await a.api.allocValue({ size: 512 });
    a.view(out.ref).forEach((_, i, bytes) => {
      bytes[i] = (i * 5 + 3) & 0xff;
    });
    expect(await a.api.put({ store, key: 7, from: out.ref })).toEqual({ replaced: false });
    expect(await a.api.put({ store, key: 7, from: out.ref })).toEqual({ replaced: true });
    await a.api.put({ store, key: 2, from: { ...out.ref, length: 10 } });
    expect(await a.api.get({ store, key: 7, into: back.ref })).toEqual({ length: 300 });
    expect(Buffer.compare(a.view(back.ref).subarray(0, 300), a.view(out.ref))).toBe(0);
    expect(await a.api.list({ store })).toEqual({
      keys: [
        { key: 2, length: 10 },
        { key: 7, length: 300 },
      ],
    });
    expect(await a.api.list({ store, after: 2, limit: 1 })).toEqual({
      keys: [{ key: 7, length: 300 }],
    });
    expect(await a.api.stat({ store })).toEqual({ name: 'shared', keys: 2, bytes: 310 });

    // Another tenant opening the same name sees the same store, through its own handle.
    const b = remoted(engine, 'b');
    const theirs = await b.api.openStore({ name: 'shared' });
    const into = await b.api.allocValue({ size: 300 });
    await b.api.get({ store: theirs.store, key: 7, into: into.ref });
    expect(Buffer.compare(b.view(into.ref), a.view(out.ref))).toBe(0);
    expect(engine.stored('shared', 7)).toEqual(a.view(out.ref));
  });

  it('fails with its declared errors and the framework’s', async () => {
    const engine = createKvEngine({ maxKeysPerStore: 2 });
    const { api } = remoted(engine, 'a');
    const { store } = await api.openStore({ name: 'small' });
    const small = await api.allocValue({ size: 8 });
    const large = await api.allocValue({ size: 64 });
    await api.put({ store, key: 1, from: large.ref });
    expect(await codeOf(api.get({ store, key: 9, into: large.ref }))).toBe('NOT_FOUND');
    expect(await codeOf(api.get({ store, key: 1, into: small.ref }))).toBe('TOO_SMALL');
    const unallocated = { ...large.ref, offset: large.ref.offset + 32 };
    expect(await codeOf(api.put({ store, key: 2, from: unallocated }))).toBe('NOT_ALLOCATED');
    await api.put({ store, key: 2, from: small.ref });
    expect(await codeOf(api.put({ store, key: 3, from: small.ref }))).toBe('FULL');
    expect(await codeOf(api.allocValue({ size: 2 * 1024 * 1024 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(api.openStore({ name: 'No Spaces' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(api.allocValue({ size: 1024 * 1024 }))).toBe('NO_MEMORY');
    expect(await codeOf(api.closeStore({ store: 999 as Handle<'Store'> }))).toBe('BAD_HANDLE');
  });

  it('releases everything on dispose, keeps the stores, and journals every call', async () => {
    const engine = createKvEngine();
    const { api, session } = remoted(engine, 'a');
    const { store } = await api.openStore({ name: 'kept' });
    const value = await api.allocValue({ size: 16 });
    await api.put({ store, key: 1, from: value.ref });
    expect(engine.heldBy('a')).toEqual({ stores: 1, values: 1 });
    await session.dispose();
    await session.dispose();
    expect(engine.heldBy('a')).toEqual({ stores: 0, values: 0 });
    expect(engine.stored('kept', 1)).toHaveLength(16);
    expect(engine.journal.map((e) => e.fn)).toEqual(['openStore', 'allocValue', 'put', 'dispose']);
    expect(await codeOf(api.stat({ store }))).toBe('DISCONNECTED');
  });
});

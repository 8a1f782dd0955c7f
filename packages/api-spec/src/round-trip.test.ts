import { describe, expect, it } from 'vitest';
import { createDispatcher, createLoopbackLink, createStub, isVrdmaError } from '../index.js';
import { createKvStore, kvSpec } from './kv-store.js';

describe('a second API defined only as a spec and an implementation', () => {
  const kv = () =>
    createStub(kvSpec, createLoopbackLink(createDispatcher(kvSpec, createKvStore(3))));

  it('runs through the same stub, loopback and dispatcher', async () => {
    const store = kv();
    expect(await store.put({ key: 'a', value: new Uint8Array([1, 2, 3]) })).toEqual({
      replaced: false,
    });
    expect(await store.put({ key: 'a', value: new Uint8Array([4]) })).toEqual({ replaced: true });
    await store.put({ key: 'ab', value: new Uint8Array(4096).fill(9) });
    expect(Array.from((await store.get({ key: 'a' })).value)).toEqual([4]);
    expect((await store.get({ key: 'ab' })).value.every((x) => x === 9)).toBe(true);
    expect(await store.list({ prefix: 'a' })).toEqual(['a', 'ab']);
    expect(await store.list()).toEqual(['a', 'ab']);
    expect(await store.increment({ slot: 2, by: 2n ** 62n })).toEqual({ value: 2n ** 62n });
    expect(await store.increment({ slot: 2, by: -(2n ** 62n) - 1n })).toEqual({ value: -1n });
  });

  it('returns its own declared errors and the framework’s validation errors', async () => {
    const store = kv();
    await expect(store.get({ key: 'missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.put({ key: 'big', value: new Uint8Array(4097) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(store.put({ key: '', value: new Uint8Array(1) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    for (const key of ['x', 'y', 'z']) await store.put({ key, value: new Uint8Array(1) });
    const full = await store.put({ key: 'w', value: new Uint8Array(1) }).catch((e: unknown) => e);
    expect(isVrdmaError(full, 'FULL')).toBe(true);
    await expect(store.increment({ slot: 16, by: 1n })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

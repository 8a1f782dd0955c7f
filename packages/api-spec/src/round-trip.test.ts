import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineApi } from './define-api.js';
import { createDispatcher } from './dispatcher.js';
import { isVrdmaError, VrdmaError } from './errors.js';
import { bytes } from './kinds.js';
import { createLoopbackLink } from './loopback.js';
import { createStub } from './stub.js';

/**
 * An API that looks nothing like RDMA, as an application author would write it: nothing in the
 * framework knows about it, yet stubs, codecs and dispatchers derive from it alone.
 */
const notesSpec = defineApi({
  name: 'notes',
  version: 1,
  errors: ['NOT_FOUND', 'FULL'],
  functions: {
    /** Stores `value` under `key`, replacing any earlier value. */
    put: {
      plane: 'control',
      args: { key: z.string().min(1).max(64), value: bytes(4096) },
      result: z.object({ replaced: z.boolean() }),
      errors: ['FULL'],
    },
    /** The value under `key`; NOT_FOUND if none. */
    get: {
      plane: 'control',
      args: { key: z.string().min(1).max(64) },
      result: z.object({ value: bytes() }),
      errors: ['NOT_FOUND'],
    },
    /** Keys with the given prefix, sorted, at most `limit`. */
    list: {
      plane: 'control',
      args: {
        prefix: z.string().max(64).default(''),
        limit: z.number().int().min(1).max(100).default(10),
      },
      result: z.array(z.string()),
      errors: [],
    },
    /** Adds `by` to the counter `slot`: a fixed-layout call on the data plane. */
    increment: {
      plane: 'data',
      args: {
        slot: z.number().int().min(0).max(15),
        by: z
          .bigint()
          .min(-(2n ** 63n))
          .max(2n ** 63n - 1n),
      },
      result: z.object({
        value: z
          .bigint()
          .min(-(2n ** 63n))
          .max(2n ** 63n - 1n),
      }),
      errors: [],
    },
  },
});

/** The implementation, bounded in keys. */
function notesImpl(maxKeys: number) {
  const entries = new Map<string, Uint8Array>();
  const counters = new BigInt64Array(16);
  return createDispatcher(notesSpec, {
    put({ key, value }) {
      const replaced = entries.has(key);
      if (!replaced && entries.size >= maxKeys)
        throw new VrdmaError('FULL', `the store holds ${maxKeys} keys`);
      entries.set(key, Uint8Array.from(value));
      return { replaced };
    },
    get({ key }) {
      const value = entries.get(key);
      if (!value) throw new VrdmaError('NOT_FOUND', `no key ${key}`);
      return { value };
    },
    list({ prefix, limit }) {
      return [...entries.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .slice(0, limit);
    },
    increment({ slot, by }) {
      counters[slot] = BigInt.asIntN(64, counters[slot]! + by);
      return { value: counters[slot]! };
    },
  });
}

describe('an API defined only as a spec and an implementation, end to end', () => {
  const notes = () => createStub(notesSpec, createLoopbackLink(notesImpl(3)));

  it('runs through stub, frame, loopback and dispatcher: bytes, defaults, bigints', async () => {
    const store = notes();
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
    const store = notes();
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

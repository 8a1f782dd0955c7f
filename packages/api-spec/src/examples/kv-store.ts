import { z } from 'zod';
import { bytes, defineApi, type ImplOf, VrdmaError } from '../index.js';

/**
 * A second API, to show that a new API is only a spec plus its implementation: a small
 * key-value store. Nothing in api-spec knows about it.
 */
export const kvSpec = defineApi({
  name: 'kv-store',
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

export type KvSpec = typeof kvSpec;

/** An in-memory implementation of the key-value store, bounded in keys. */
export function createKvStore(maxKeys = 1000): ImplOf<KvSpec> {
  const entries = new Map<string, Uint8Array>();
  const counters = new BigInt64Array(16);
  return {
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
  };
}

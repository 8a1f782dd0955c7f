import { type ApiOf, bufferRef, defineApi, type ErrorCodeOf, handle } from '@vrdma/api-spec';
import { z } from 'zod';

/** Largest value one `allocValue` gives, so the largest value a store holds. */
export const MAX_VALUE_BYTES = 1024 * 1024;

const key = z.number().int().min(0).max(0xffff_ffff);
const length = z.number().int().min(0).max(0xffff_ffff);

/**
 * A second API for the host, shaped nothing like Unimem: a key-value store whose values move
 * zero-copy between the guest's own memory and the engine's storage. It proves that a new API
 * needs only a spec and an engine: the host derives its handles, isolation, quotas, cleanup and
 * scheduling costs from this declaration, with no code for it.
 *
 * Stores are named and live in the engine; a `Store` handle is one tenant's opening of one.
 * Values live in the tenant's shared memory: `allocValue` places one there, and `put` and `get`
 * copy between such a value and the store on the data plane.
 */
export const kvSpec = defineApi({
  name: 'kv-store',
  version: 2,
  errors: ['NOT_FOUND', 'FULL', 'NO_MEMORY', 'TOO_SMALL', 'NOT_ALLOCATED'],
  // A value is charged its size for as long as it lives; neither kind holds the other.
  handles: {
    Store: { release: 'closeStore' },
    Value: { release: 'freeValue', bytes: 'size' },
  },
  functions: {
    /** Opens the store called `name`, creating it empty if no tenant made it before. */
    openStore: {
      plane: 'control',
      args: { name: z.string().regex(/^[a-z0-9-]{1,32}$/) },
      result: z.object({ store: handle('Store') }),
      errors: [],
    },
    /** Closes this opening of a store; what it holds stays in the engine. */
    closeStore: {
      plane: 'control',
      args: { store: handle('Store') },
      result: z.void(),
      errors: [],
    },
    /** Places `size` bytes in the caller's memory for values to travel through (`ref`, for `view`). */
    allocValue: {
      plane: 'control',
      args: { size: z.number().int().min(1).max(MAX_VALUE_BYTES) },
      result: z.object({ value: handle('Value'), ref: bufferRef() }),
      errors: ['NO_MEMORY'],
    },
    /** Gives a value's bytes back to the caller's memory. */
    freeValue: {
      plane: 'control',
      args: { value: handle('Value') },
      result: z.void(),
      errors: [],
    },
    /**
     * Stores the bytes `from` names (inside a value of the caller's) under `key`, replacing any
     * earlier value; FULL when the store holds as many keys as the engine allows.
     */
    put: {
      plane: 'data',
      args: { store: handle('Store'), key, from: bufferRef() },
      result: z.object({ replaced: z.boolean() }),
      errors: ['FULL', 'NOT_ALLOCATED'],
    },
    /** Copies the value under `key` into `into` (inside a value of the caller's). */
    get: {
      plane: 'data',
      args: { store: handle('Store'), key, into: bufferRef() },
      result: z.object({ length }),
      errors: ['NOT_FOUND', 'TOO_SMALL', 'NOT_ALLOCATED'],
    },
    /** Keys above `after` (all when absent), ascending, at most `limit`, with their lengths. */
    list: {
      plane: 'control',
      args: {
        store: handle('Store'),
        after: key.optional(),
        limit: z.number().int().min(1).max(100).default(16),
      },
      result: z.object({ keys: z.array(z.object({ key, length })) }),
      errors: [],
    },
    /** How many keys the store holds, and how many bytes their values take. */
    stat: {
      plane: 'control',
      args: { store: handle('Store') },
      result: z.object({ name: z.string(), keys: z.number().int().min(0), bytes: z.number() }),
      errors: [],
    },
  },
});

export type KvSpec = typeof kvSpec;

/** The key-value API object: what a stub is, and what an engine session offers. */
export type KvApi = ApiOf<KvSpec>;

export type KvErrorCode = ErrorCodeOf<KvSpec>;

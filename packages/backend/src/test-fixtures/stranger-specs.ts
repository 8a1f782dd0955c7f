import { defineApi, handle } from '@vrdma/api-spec';
import { z } from 'zod';
import { kvSpec } from './kv-api/spec.js';

/** A third API, which no host of these tests serves. */
export const counterSpec = defineApi({
  name: 'counter',
  version: 1,
  errors: [],
  functions: {
    add: {
      plane: 'control',
      args: { by: z.number().int().min(1).max(100) },
      result: z.object({ total: z.number() }),
      errors: [],
    },
  },
});

/**
 * The key-value spec grown by one function, under the same name and version: a guest built
 * against it expects an API the host does not serve, and only the fingerprint can tell.
 */
export const grownKvSpec = defineApi({
  name: kvSpec.name,
  version: kvSpec.version,
  errors: kvSpec.errors,
  handles: kvSpec.resources.handles,
  functions: {
    ...kvSpec.functions,
    remove: {
      plane: 'control',
      args: { store: handle('Store'), key: z.number().int().min(0).max(0xffff_ffff) },
      result: z.object({ removed: z.boolean() }),
      errors: [],
    },
  },
});

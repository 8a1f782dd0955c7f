import { z } from 'zod';
import { defineApi } from '../define-api.js';
import { bufferRef, handle } from '../kinds.js';

/** An API shaped like an RDMA device's: channels, buffers, a transfer descriptor, a completion batch. */
export const transferSpec = defineApi({
  name: 'layout-fixture',
  version: 1,
  errors: [],
  handles: { Channel: { release: 'close' } },
  functions: {
    open: {
      plane: 'control',
      args: {},
      result: z.object({ channel: handle('Channel') }),
      errors: [],
    },
    close: { plane: 'control', args: { channel: handle('Channel') }, result: z.void(), errors: [] },
    alloc: {
      plane: 'control',
      args: { size: z.number().int().min(1).max(0xffff_ffff) },
      result: z.object({ ref: bufferRef() }),
      errors: [],
    },
    write: {
      plane: 'data',
      args: {
        channel: handle('Channel'),
        local: bufferRef(),
        remote: z
          .bigint()
          .min(0n)
          .max(2n ** 64n - 1n),
        key: z.number().int().min(0).max(0xffff_ffff),
        fence: z.boolean().default(false),
      },
      result: z.object({ transfer: z.number().int().min(0).max(0xffff_ffff) }),
      errors: [],
    },
    poll: {
      plane: 'data',
      args: { channel: handle('Channel') },
      result: z.object({
        completions: z
          .array(
            z.object({
              transfer: z.number().int().min(0).max(0xffff_ffff),
              status: z.enum(['ok', 'no-permission', 'out-of-range', 'node-down', 'canceled']),
              bytes: z.number().int().min(0).max(0xffff_ffff),
            }),
          )
          .max(16),
      }),
      errors: [],
    },
  },
});

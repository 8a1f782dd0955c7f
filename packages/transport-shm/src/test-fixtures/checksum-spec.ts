import { bufferRef, defineApi } from '@vrdma/api-spec';
import { z } from 'zod';

/**
 * A two-function API for end-to-end tests: a stub in the guest, a dispatcher on the host,
 * this ring between them, and buffers that travel by reference only.
 */
export const checksumSpec = defineApi({
  name: 'checksum',
  version: 1,
  errors: [],
  functions: {
    /** Sum of the bytes of a guest buffer, read by the host in place. */
    sum: {
      plane: 'data',
      args: { buffer: bufferRef() },
      result: z.object({ total: z.number().int().min(0).max(0xffff_ffff) }),
      errors: [],
    },
    /** Fills a guest buffer with one byte value, written by the host in place. */
    fill: {
      plane: 'data',
      args: { buffer: bufferRef(), value: z.number().int().min(0).max(255) },
      result: z.object({ filled: z.number().int().min(0).max(0xffff_ffff) }),
      errors: [],
    },
  },
});

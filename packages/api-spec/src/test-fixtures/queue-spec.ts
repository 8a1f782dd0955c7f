import { z } from 'zod';
import { defineApi } from '../define-api.js';
import type { VrdmaError } from '../errors.js';
import { handle } from '../kinds.js';

const u32 = z.number().int().min(0).max(0xffff_ffff);

/** Most entries one reap returns. */
export const MAX_ENTRIES = 4;

const entry = z.object({
  id: u32,
  status: z.enum(['ok', 'refused']),
  value: u32,
  error: z.enum(['FULL', 'NOPE', 'BAD_HANDLE', 'INVALID_ARGUMENT', 'INTERNAL']).optional(),
});

/**
 * A small API with a completion queue per Channel: `put` is posted to a channel, `poll` and
 * `wait` reap it; `open` gives the channel's capacity (`depth`); `close` releases one channel,
 * `shutdown` everything. `Plain` is a handle kind without a queue.
 */
export const queueSpec = defineApi({
  name: 'queue-fixture',
  version: 1,
  errors: ['FULL', 'NOPE'],
  handles: { Channel: { release: 'close' }, Plain: { release: 'drop' } },
  completionQueues: {
    Channel: {
      token: 'id',
      capacity: { field: 'depth', refusal: 'FULL' },
      refused: (id: number, error: VrdmaError) => ({
        id,
        status: 'refused',
        value: 0,
        error: error.code,
      }),
    },
  },
  functions: {
    open: {
      plane: 'control',
      args: { depth: z.number().int().min(1).max(0xffff) },
      result: z.object({ channel: handle('Channel'), depth: z.number().int().min(1).max(0xffff) }),
      errors: [],
    },
    close: { plane: 'control', args: { channel: handle('Channel') }, result: z.void(), errors: [] },
    openPlain: {
      plane: 'control',
      args: {},
      result: z.object({ plain: handle('Plain') }),
      errors: [],
    },
    drop: { plane: 'control', args: { plain: handle('Plain') }, result: z.void(), errors: [] },
    shutdown: { plane: 'control', args: {}, result: z.void(), errors: [], releases: 'all' },
    put: {
      plane: 'data',
      posted: { queue: 'channel' },
      args: { channel: handle('Channel'), value: u32 },
      result: z.object({ id: u32 }),
      errors: ['FULL', 'NOPE'],
    },
    poll: {
      plane: 'data',
      reaps: { queue: 'channel', max: 'max' },
      args: {
        channel: handle('Channel'),
        max: z.number().int().min(1).max(MAX_ENTRIES).default(MAX_ENTRIES),
      },
      result: z.object({ entries: z.array(entry).max(MAX_ENTRIES) }),
      errors: [],
    },
    wait: {
      plane: 'data',
      reaps: { queue: 'channel', max: 'max', timeoutMs: 'timeoutMs' },
      args: {
        channel: handle('Channel'),
        max: z.number().int().min(1).max(MAX_ENTRIES).default(MAX_ENTRIES),
        timeoutMs: z.number().int().min(0).max(600_000).default(1_000),
      },
      result: z.object({ entries: z.array(entry).max(MAX_ENTRIES) }),
      errors: [],
    },
  },
});

export type QueueSpec = typeof queueSpec;

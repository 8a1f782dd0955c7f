import {
  bufferRef,
  capability,
  defineApi,
  FRAMEWORK_ERROR_CODES,
  handle,
  type VrdmaError,
} from '@vrdma/api-spec';
import { z } from 'zod';
import { globalAddress } from './global-address.js';

/** Most completions one `poll` or `wait` returns. */
export const MAX_COMPLETIONS = 16;

/** How a finished transfer ended. */
export const completionStatus = z.enum([
  'ok',
  /**
   * The key does not grant this access, was revoked before the transfer was queued, or the
   * remote range is not inside the buffer it exports: one status for all, so that a caller
   * cannot tell a wrong key from a wrong range (and find a key first, its range after).
   */
  'no-permission',
  /** The remote node went away before the transfer finished. */
  'node-down',
  /** The channel was closed (or its owner detached) before the transfer finished. */
  'canceled',
  /**
   * Remoted only: the host refused the posted transfer before it reached the engine; `error`
   * says why, with the code the call throws natively (CHANNEL_FULL, TOO_LONG, OUT_OF_RANGE, …).
   */
  'refused',
]);
export type CompletionStatus = z.infer<typeof completionStatus>;

/** Every error code of the Unimem API, its own and the framework's. */
const UNIMEM_ERRORS = [
  'NOT_OPEN',
  'ALREADY_OPEN',
  'BAD_KEY',
  'NO_MEMORY',
  'NO_PERMISSION',
  'TOO_LONG',
  'MISALIGNED',
  'NODE_DOWN',
  'CHANNEL_FULL',
  'LIMIT_REACHED',
  'BUSY',
] as const;
const errorCode = z.enum([...UNIMEM_ERRORS, ...FRAMEWORK_ERROR_CODES]);

const completion = z.object({
  /** The id `write` or `read` returned. */
  transfer: z.number().int().min(0).max(0xffff_ffff),
  status: completionStatus,
  /** Bytes moved (0 unless status is 'ok'). */
  bytes: z.number().int().min(0).max(0xffff_ffff),
  /** Set when status is 'refused': the error the call would have thrown natively. */
  error: errorCode.optional(),
});
export type Completion = z.infer<typeof completion>;

const limits = z.object({
  /** Largest single transfer, in bytes. */
  maxTransfer: z.number().int().min(1).max(0xffff_ffff),
  /** Channels a session may have open. */
  maxChannels: z.number().int().min(1).max(0xffff),
  /** Largest channel depth (transfers queued or completed but not reaped). */
  maxQueueDepth: z.number().int().min(1).max(0xffff),
  /** Buffers and transfer offsets must be multiples of this many bytes (1 = none). */
  alignment: z.number().int().min(1).max(4096),
});

const deviceInfo = z.object({
  /** The node this device belongs to. */
  node: z.number().int().min(0).max(0xffff),
  /** Every node of the cluster that is reachable now, including this one. */
  nodes: z.array(z.number().int().min(0).max(0xffff)),
  limits,
});
export type DeviceInfo = z.infer<typeof deviceInfo>;

const transferArgs = {
  channel: handle('Channel'),
  /** The local bytes: a reference into one of the caller's buffers (zero-copy). */
  local: bufferRef(),
  /** Where the bytes go (write) or come from (read); `local.length` bytes from there. */
  remote: globalAddress(),
  /** The key that exports the remote buffer (`exportBuffer`), even if it is the caller's own. */
  key: capability('Key', { bits: 53 }),
  /** Start only after every earlier transfer of this channel has finished. */
  fence: z.boolean().default(false),
};

/** What `write` and `read` may fail with; what only the remote side knows ends in the completion. */
const transferErrors = ['NOT_OPEN', 'TOO_LONG', 'MISALIGNED', 'CHANNEL_FULL', 'NODE_DOWN'] as const;

const transferResult = z.object({
  /** Identifies the transfer in its completion. */
  transfer: z.number().int().min(0).max(0xffff_ffff),
});

const completions = z.object({
  completions: z.array(completion).max(MAX_COMPLETIONS),
});

/**
 * The Unimem RDMA API: what an application calls, natively on an engine or remoted through
 * vrdma. Unimem gives a cluster one global address space: a global address is a node id and
 * an offset inside that node. The engine moves bytes between a local buffer and a global
 * address, asynchronously; completions are reaped with `poll` or `wait`.
 *
 * Validation of the caller's own side (handles, local buffer, length, alignment, a remote node
 * that is not in the cluster: OUT_OF_RANGE) fails the call itself; what only the remote side can
 * know (key or range: 'no-permission'; node down) is reported in the transfer's completion.
 */
export const unimemSpec = defineApi({
  name: 'unimem',
  version: 1,
  errors: UNIMEM_ERRORS,
  // Buffers are charged their size; channels are closed before buffers, whose transfers they hold.
  handles: {
    Channel: { release: 'closeChannel' },
    Buffer: { release: 'free', bytes: 'size', releasedAfter: ['Channel'] },
  },
  // A key crosses guests on purpose: its owner hands it out; only its owner may revoke it.
  // Keys come from the node's one key table, which every session of the node shares.
  capabilities: { Key: { release: 'revoke', refusal: 'BAD_KEY', shared: true } },
  // Remoted, writes and reads are posted: the guest does not wait for the host, and reaps
  // completions from its own memory. A channel holds `depth` transfers until they are reaped.
  completionQueues: {
    Channel: {
      token: 'transfer',
      capacity: { field: 'depth', refusal: 'CHANNEL_FULL' },
      refused: (transfer: number, error: VrdmaError) => ({
        transfer,
        status: 'refused',
        bytes: 0,
        error: error.code,
      }),
      // A wrong key and a wrong range end alike; the host counts them against the guest.
      denied: (entry) => entry.status === 'no-permission',
    },
  },
  functions: {
    /**
     * Attaches the caller to the device. Every other call needs an open device (NOT_OPEN).
     * @returns the node, the reachable nodes and the engine's limits.
     */
    open: {
      plane: 'control',
      args: {},
      result: deviceInfo,
      errors: ['ALREADY_OPEN'],
    },
    /**
     * Detaches from the device and releases everything the caller holds: buffers, keys,
     * channels; unfinished transfers complete as 'canceled'.
     */
    close: {
      plane: 'control',
      args: {},
      result: z.void(),
      errors: ['NOT_OPEN'],
      releases: 'all',
    },
    /** The device's node, the reachable nodes and the limits, as `open` returned them. */
    query: {
      plane: 'control',
      args: {},
      result: deviceInfo,
      errors: ['NOT_OPEN'],
    },
    /**
     * Allocates a DMA-able buffer of `size` bytes in memory the caller can see.
     * @returns its handle, where it lives (`ref`, for `view`) and its global address.
     */
    alloc: {
      plane: 'control',
      args: {
        size: z.number().int().min(1).max(0xffff_ffff),
        /** Alignment in bytes, a power of two; defaults to the engine's alignment (at least 64). */
        align: z
          .number()
          .int()
          .min(1)
          .max(1 << 21)
          .optional(),
      },
      result: z.object({ buffer: handle('Buffer'), ref: bufferRef(), address: globalAddress() }),
      errors: ['NOT_OPEN', 'NO_MEMORY', 'MISALIGNED', 'TOO_LONG'],
    },
    /** Frees a buffer and revokes every key that exports it. BUSY while transfers use it. */
    free: {
      plane: 'control',
      args: { buffer: handle('Buffer') },
      result: z.void(),
      errors: ['NOT_OPEN', 'BUSY'],
    },
    /**
     * Grants remote access to a buffer: transfers from any node that present the returned key
     * may read and/or write it.
     */
    exportBuffer: {
      plane: 'control',
      args: { buffer: handle('Buffer'), access: z.enum(['read', 'write', 'read-write']) },
      result: z.object({
        key: capability('Key', { bits: 53 }),
        address: globalAddress(),
        length: z.number().int().min(0),
      }),
      errors: ['NOT_OPEN', 'LIMIT_REACHED'],
    },
    /**
     * Withdraws a key: every transfer queued after this call that presents it fails with
     * 'no-permission' (the owner checks keys when a transfer reaches it, so transfers queued
     * earlier but not yet started may fail too; one already under way finishes).
     */
    revoke: {
      plane: 'control',
      args: { key: capability('Key', { bits: 53 }) },
      result: z.void(),
      errors: ['NOT_OPEN', 'BAD_KEY'],
    },
    /** Opens a DMA channel holding up to `depth` transfers (queued or not yet reaped). */
    openChannel: {
      plane: 'control',
      args: { depth: z.number().int().min(1).max(0xffff).optional() },
      result: z.object({ channel: handle('Channel'), depth: z.number().int().min(1).max(0xffff) }),
      errors: ['NOT_OPEN', 'LIMIT_REACHED', 'TOO_LONG'],
    },
    /** Closes a channel; its unfinished transfers complete as 'canceled' and are dropped. */
    closeChannel: {
      plane: 'control',
      args: { channel: handle('Channel') },
      result: z.void(),
      errors: ['NOT_OPEN'],
    },
    /**
     * RDMA put: queues a copy of `local` to `remote`. Returns once queued; the completion
     * says how it ended. CHANNEL_FULL when the channel already holds `depth` transfers
     * (nothing is queued: reap completions and retry).
     */
    write: {
      plane: 'data',
      posted: { queue: 'channel' },
      args: transferArgs,
      result: transferResult,
      errors: transferErrors,
    },
    /** RDMA get: queues a copy of `local.length` bytes from `remote` into `local`. As `write`. */
    read: {
      plane: 'data',
      posted: { queue: 'channel' },
      args: transferArgs,
      result: transferResult,
      errors: transferErrors,
    },
    /** Reaps up to `max` finished transfers of a channel, oldest first; never waits. */
    poll: {
      plane: 'data',
      reaps: { queue: 'channel', max: 'max' },
      args: {
        channel: handle('Channel'),
        max: z.number().int().min(1).max(MAX_COMPLETIONS).default(MAX_COMPLETIONS),
      },
      result: completions,
      errors: ['NOT_OPEN'],
    },
    /**
     * As `poll`, but waits up to `timeoutMs` for at least one completion; an empty list means
     * the time ran out.
     */
    wait: {
      plane: 'data',
      reaps: { queue: 'channel', max: 'max', timeoutMs: 'timeoutMs' },
      args: {
        channel: handle('Channel'),
        max: z.number().int().min(1).max(MAX_COMPLETIONS).default(MAX_COMPLETIONS),
        timeoutMs: z.number().int().min(0).max(600_000).default(1_000),
      },
      result: completions,
      errors: ['NOT_OPEN'],
    },
  },
});

export type UnimemSpec = typeof unimemSpec;

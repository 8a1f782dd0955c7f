import { z } from 'zod';

/**
 * Per-guest limits; a call that would pass one fails with QUOTA_EXCEEDED. Objects are counted
 * by the kind names of the API's spec (handles and capabilities), whatever the API.
 */
export const quotasSchema = z
  .object({
    /** Objects of a kind a guest may hold at once, by kind name, e.g. `{ Channel: 16 }`. */
    kinds: z.record(z.string(), z.number().int().min(0)).default({}),
    /** The limit of a kind that `kinds` does not name. */
    perKind: z.number().int().min(0).default(1024),
    /** Bytes of sized handles (a spec's `bytes` argument, e.g. buffers) a guest may hold. */
    bytes: z
      .number()
      .int()
      .min(0)
      .default(256 * 1024 * 1024),
    /** Calls of a guest the host serves at once (waits included). */
    calls: z.number().int().min(1).default(1024),
    /**
     * Guests a shared table (a kind the spec marks `shared`, e.g. a node's key table) is split
     * among: a guest may hold capacity / sharers of it, whatever its per-kind limit says, so up
     * to this many guests each get their share however the others behave.
     */
    sharers: z.number().int().min(1).default(128),
  })
  .strict();
export type Quotas = z.infer<typeof quotasSchema>;

/**
 * How many failed access checks (a wrong key or range on a remote access) a guest may make:
 * `budget` at once, then `refillPerSecond`; while it is spent, its remote accesses are refused
 * with QUOTA_EXCEEDED, and after `disconnectAfter` failures and refusals together it is let go.
 */
export const deniedAccessSchema = z
  .object({
    budget: z.number().int().min(1).default(32),
    refillPerSecond: z.number().min(0).default(1),
    disconnectAfter: z.number().int().min(1).default(256),
  })
  .strict();
export type DeniedAccessLimits = z.infer<typeof deniedAccessSchema>;

export const hostConfigSchema = z
  .object({
    /** A name the host gives in its hello reply and its logs. */
    name: z.string().min(1).default('vrdma-host'),
    quotas: quotasSchema.default(quotasSchema.parse({})),
    deniedAccess: deniedAccessSchema.default(deniedAccessSchema.parse({})),
    /**
     * Scheduling weight by guest label (default 1): a guest of weight 2 gets twice the bytes.
     * Only for guests the host's own code attaches with labels it chose (threads, in-process);
     * a guest attaching through a socket names its label itself and earns a weight by token only.
     */
    weights: z.record(z.string(), z.number().positive()).default({}),
    /**
     * Weights granted by secret token to guests that attach through a socket: each grant names
     * the SHA-256 digest (hex) of a token. A guest with no token gets weight 1; an unknown
     * token is refused with PERMISSION_DENIED.
     */
    weightGrants: z
      .array(
        z
          .object({
            sha256: z
              .string()
              .regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 digest: 64 lower-case hex digits'),
            weight: z.number().positive(),
          })
          .strict(),
      )
      .default([]),
    /** Bytes a guest may post per scheduling round, times its weight. */
    quantumBytes: z
      .number()
      .int()
      .min(1)
      .default(256 * 1024),
    /**
     * Bytes of posted calls the engine may hold at once, all guests together: beyond, posts wait
     * in the fair scheduler, where weights order them. Larger keeps the engine busier; smaller
     * makes weights bite sooner.
     */
    engineWindowBytes: z
      .number()
      .int()
      .min(1)
      .default(64 * 1024 * 1024),
    /**
     * Bytes the scheduler starts, while guests compete, before it lets the event loop turn (so
     * posts sent meanwhile join): more keeps the engine fed, less interleaves late arrivals finer.
     */
    turnBytes: z
      .number()
      .int()
      .min(1)
      .default(4 * 1024 * 1024),
    /** A guest that sends nothing for this long is considered gone (0: never). */
    leaseMs: z.number().int().min(0).default(30_000),
    /** Audit records kept in memory (isolation violations, detaches). */
    auditCapacity: z.number().int().min(0).default(1000),
  })
  .strict();
export type HostConfig = z.infer<typeof hostConfigSchema>;
export type HostConfigInput = z.input<typeof hostConfigSchema>;

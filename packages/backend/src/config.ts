import { z } from 'zod';

/** Per-guest limits; a call that would pass one fails with QUOTA_EXCEEDED. */
export const quotasSchema = z.object({
  /** Buffers a guest may hold at once. */
  buffers: z.number().int().min(0).default(1024),
  /** Bytes of buffers a guest may hold at once. */
  bytes: z
    .number()
    .int()
    .min(0)
    .default(256 * 1024 * 1024),
  /** Channels a guest may have open. */
  channels: z.number().int().min(0).default(16),
  /** Keys a guest may have exported and not revoked. */
  keys: z.number().int().min(0).default(1024),
  /** Transfers queued or completed but not reaped, over all its channels. */
  inflight: z.number().int().min(0).default(4096),
});
export type Quotas = z.infer<typeof quotasSchema>;

export const hostConfigSchema = z.object({
  /** A name the host gives in its hello reply and its logs. */
  name: z.string().min(1).default('vrdma-host'),
  quotas: quotasSchema.default(quotasSchema.parse({})),
  /** Scheduling weight by guest label (default 1): a guest of weight 2 gets twice the bytes. */
  weights: z.record(z.string(), z.number().positive()).default({}),
  /** Bytes a guest may post per scheduling round, times its weight. */
  quantumBytes: z
    .number()
    .int()
    .min(1)
    .default(256 * 1024),
  /** A guest that sends nothing for this long is considered gone (0: never). */
  leaseMs: z.number().int().min(0).default(30_000),
  /** Audit records kept in memory (isolation violations, detaches). */
  auditCapacity: z.number().int().min(0).default(1000),
});
export type HostConfig = z.infer<typeof hostConfigSchema>;
export type HostConfigInput = z.input<typeof hostConfigSchema>;

import { z } from 'zod';

/**
 * What nodes tell each other over their control connections (never data): who they are and
 * how libfabric reaches them, which keys they export, and a kick for providers whose
 * completion queue has no wait fd. Everything a peer sends is checked against these schemas.
 */
const u32 = z.number().int().min(0).max(0xffff_ffff);

export const controlMessage = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('hello'),
    node: z.number().int().min(0).max(0xffff),
    provider: z.string().max(63),
    /** fi_getname's bytes, base64. */
    name: z.string().max(1024),
  }),
  z.object({
    t: z.literal('export'),
    seq: u32,
    key: u32,
    slot: z.number().int().min(1).max(0xfffe),
    length: u32,
    access: z.enum(['read', 'write', 'read-write']),
  }),
  z.object({ t: z.literal('revoke'), seq: u32, key: u32 }),
  z.object({ t: z.literal('ack'), seq: u32 }),
  z.object({ t: z.literal('kick') }),
]);

export type ControlMessage = z.infer<typeof controlMessage>;

/** A node's end of its control connection to one peer. */
export interface PeerLink {
  send(message: ControlMessage): void;
  close(): void;
}

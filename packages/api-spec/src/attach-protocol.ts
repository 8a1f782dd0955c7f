import { z } from 'zod';

/**
 * How a guest in another process attaches to a host, on the host's UNIX socket:
 *
 *   guest → host   one JSON line: {"type":"attach","version":2,"label":"vm-1","memoryBytes":N}
 *                  and, to earn a scheduling weight, "token":"…" (a secret the host knows by
 *                  its SHA-256 digest; the label is the guest's own claim and earns nothing)
 *   host  → guest  one JSON line, {"type":"welcome",…} carrying the guest's regions as file
 *                  descriptors (SCM_RIGHTS), in the order the welcome lists them; or
 *                  {"type":"error","message":"…"} (with "code", e.g. PERMISSION_DENIED)
 *   then           doorbells, one byte each way: ATTACH_DOORBELLS.control rings the virtqueue
 *                  (kicks and interrupts), ATTACH_DOORBELLS.data the data-plane ring.
 *
 * An operator may instead send {"type":"stats"} on the host's operator socket and read one JSON
 * line of the host's figures; the guests' socket answers it with PERMISSION_DENIED.
 * Memory travels only as descriptors, never as a path another process could open.
 */
export const ATTACH_PROTOCOL_VERSION = 2;

/** Longest first line a host reads; anything longer is hostile. */
export const MAX_ATTACH_LINE = 4096;

/** Longest weight token a guest may present. */
export const MAX_TOKEN_LENGTH = 256;

/** Doorbell byte values on an attached guest's socket. */
export const ATTACH_DOORBELLS = { control: 1, data: 2 } as const;

/** Largest guest memory a host may hand out (2 GiB: 31-bit offsets stay exact). */
export const MAX_GUEST_MEMORY = 2 ** 31;

export const attachRequestSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('attach'),
      version: z.literal(ATTACH_PROTOCOL_VERSION),
      label: z
        .string()
        .min(1)
        .max(64)
        .regex(/^[\w.-]+$/),
      /** Bytes of shared memory for the guest's buffers; 0 for an API without buffers. */
      memoryBytes: z.number().int().min(0).max(MAX_GUEST_MEMORY),
      /** A secret the host grants a scheduling weight to (see the host's `weightGrants`). */
      token: z.string().min(1).max(MAX_TOKEN_LENGTH).optional(),
    })
    .strict(),
  z.object({ type: z.literal('stats') }).strict(),
]);
export type AttachRequest = z.infer<typeof attachRequestSchema>;

const regionSchema = z.object({
  id: z.number().int().min(0).max(0xffff_ffff),
  size: z.number().int().min(1).max(MAX_GUEST_MEMORY),
});

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  /** The virtqueue's region (control plane). */
  control: regionSchema,
  /** The data-plane channel. */
  data: regionSchema,
  /** The guest's memory, when it asked for some. */
  memory: regionSchema.nullable(),
});
export type Welcome = z.infer<typeof welcomeSchema>;

export const attachRefusalSchema = z.object({
  type: z.literal('error'),
  message: z.string(),
  /** The error code, when the refusal has one a client should act on (PERMISSION_DENIED). */
  code: z.string().optional(),
});

/**
 * What a host posts to a guest in a worker thread before its transports: the guest's memory,
 * a SharedArrayBuffer, or null for an API without buffers.
 */
export interface WorkerMemoryMessage {
  vrdmaGuestMemory: { id: number; buffer: SharedArrayBuffer } | null;
}

export function isWorkerMemoryMessage(message: unknown): message is WorkerMemoryMessage {
  if (typeof message !== 'object' || message === null || !('vrdmaGuestMemory' in message))
    return false;
  const memory = (message as WorkerMemoryMessage).vrdmaGuestMemory;
  return (
    memory === null ||
    (typeof memory === 'object' &&
      Number.isInteger(memory.id) &&
      memory.buffer instanceof SharedArrayBuffer)
  );
}

import { z } from 'zod';

/**
 * Special argument kinds. They are ordinary zod schemas tagged in `kindRegistry`, so the
 * spec walker can give them their wire layout and the host its ownership checks.
 */
export type KindMeta =
  | { kind: 'handle'; of: string }
  | { kind: 'capability'; of: string; max: number }
  | { kind: 'buffer-ref' }
  | { kind: 'bytes'; maxLength?: number };

export const kindRegistry = z.registry<KindMeta>();

/** Largest handle value: handles travel as unsigned 32-bit integers; 0 is never a handle. */
export const MAX_HANDLE = 0xffff_ffff;

/** An opaque handle to an object of kind `Of`, minted by the host for one guest. */
export type Handle<Of extends string> = number & z.$brand<Of>;

/**
 * A typed opaque handle. Handles of different kinds do not mix at compile time; at run time
 * the host checks that the handle belongs to the calling guest.
 */
export function handle<const Of extends string>(of: Of) {
  const schema = z.number().int().min(1).max(MAX_HANDLE).brand<Of, 'inout'>();
  kindRegistry.add(schema, { kind: 'handle', of });
  return schema;
}

/** Largest value of a 53-bit capability: every integer up to it is exact in a JS number. */
export const MAX_WIDE_CAPABILITY = Number.MAX_SAFE_INTEGER;

/**
 * A capability, such as an RDMA remote key: minted by the engine, handed by its owner to other
 * guests out of band and presented by them. The host passes it through untouched, records
 * which guest obtained it, lets only that guest release it, and releases it when that guest
 * leaves. What it grants is the engine's business. A plain number to applications: it travels
 * between them out of band. 32 bits by default; `bits: 53` for a capability that must be hard
 * to guess (its width is part of the spec's fingerprint and of its data-plane layout).
 */
export function capability<const Of extends string>(of: Of, options: { bits?: 32 | 53 } = {}) {
  const max = options.bits === 53 ? MAX_WIDE_CAPABILITY : MAX_HANDLE;
  const schema = z.number().int().min(0).max(max);
  kindRegistry.add(schema, { kind: 'capability', of, max });
  return schema;
}

/** Largest region offset or length a buffer reference may name (2^48 - 1). */
export const MAX_REGION_BYTES = 2 ** 48 - 1;

/**
 * A reference to `length` bytes at `offset` inside shared region `region`: the zero-copy
 * path. The host resolves it only against the calling guest's own regions.
 */
export interface BufferRef {
  region: number;
  offset: number;
  length: number;
}

export function bufferRef() {
  const schema = z.object({
    region: z.number().int().min(0).max(0xffff_ffff),
    offset: z.number().int().min(0).max(MAX_REGION_BYTES),
    length: z.number().int().min(0).max(0xffff_ffff),
  });
  kindRegistry.add(schema, { kind: 'buffer-ref' });
  return schema;
}

/** Raw bytes (a Uint8Array) on the control plane, at most `maxLength` of them. */
export function bytes(maxLength?: number) {
  const schema = z.custom<Uint8Array>(
    (value) =>
      value instanceof Uint8Array && (maxLength === undefined || value.length <= maxLength),
    { message: maxLength === undefined ? 'expected bytes' : `expected at most ${maxLength} bytes` },
  );
  kindRegistry.add(
    schema,
    maxLength === undefined ? { kind: 'bytes' } : { kind: 'bytes', maxLength },
  );
  return schema;
}

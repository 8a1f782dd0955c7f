import { z } from 'zod';
import { defineApi } from '../define-api.js';

/** Features a host may grant; a guest asks for those it wants in `hello`. */
export const SESSION_FEATURES = [
  /** The guest pings when idle, so the host can tell a silent guest from a gone one. */
  'keepalive',
  /**
   * Posted calls and completion queues: the host reports posted calls in the guest's completion
   * ring, so the guest posts and reaps without waiting for it. Granted only when the guest's
   * data plane has such rings.
   */
  'queues',
] as const;
export type SessionFeature = (typeof SESSION_FEATURES)[number];

/**
 * The session protocol every host speaks on the control plane before any API call: a guest
 * says which API it was built against (name, version, full fingerprint) and which features it
 * wants; the host accepts, or refuses with FINGERPRINT_MISMATCH naming both fingerprints.
 * It is itself a spec, so it travels in ordinary frames; the host tells it apart from the API
 * by the fingerprint in the frame header.
 */
export const sessionSpec = defineApi({
  name: 'vrdma-session',
  version: 1,
  errors: [],
  functions: {
    /** Opens the session. Must be the first call of a guest. */
    hello: {
      plane: 'control',
      args: {
        api: z.string().min(1).max(64),
        version: z.number().int().min(0),
        fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
        features: z.array(z.string().max(32)).max(32).default([]),
        label: z.string().max(64).optional(),
      },
      result: z.object({
        host: z.string(),
        guest: z.number().int().min(0),
        features: z.array(z.string()),
        /** The host considers the guest gone after this long without a message (0: never). */
        leaseMs: z.number().int().min(0),
      }),
      errors: [],
    },
    /** Keeps the lease alive; does nothing else. */
    ping: { plane: 'control', args: {}, result: z.void(), errors: [] },
    /** Leaves: the host releases everything the guest holds. */
    goodbye: { plane: 'control', args: {}, result: z.void(), errors: [] },
  },
});

export type SessionSpec = typeof sessionSpec;

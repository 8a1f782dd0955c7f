import type { DeviceInfo } from '@vrdma/unimem-api';
import { z } from 'zod';

const MiB = 1024 * 1024;

/** Short provider names the CLI and cluster files accept, and the libfabric names they mean. */
export const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  tcp: 'tcp;ofi_rxm',
  shm: 'shm',
  verbs: 'verbs;ofi_rxm',
  efa: 'efa',
};

/** The libfabric provider name for a short alias, or the name itself. */
export function providerName(provider: string): string {
  return PROVIDER_ALIASES[provider] ?? provider;
}

/** How one libfabric node is set up. Every field has a default. */
export const libfabricConfigSchema = z.object({
  /** libfabric provider: `tcp` (tcp;ofi_rxm), `shm`, `verbs`, `efa` or any fi_info name. */
  provider: z.string().min(1).max(63).default('tcp'),
  /** FI_TCP_IFACE for the tcp provider (e.g. `lo` for one machine); unset: libfabric picks. */
  iface: z.string().min(1).max(31).optional(),
  /** Largest single transfer (TOO_LONG beyond); a registration slot holds at most 4 GiB. */
  maxTransfer: z
    .number()
    .int()
    .min(1)
    .max(0xffff_ffff)
    .default(64 * MiB),
  maxChannels: z.number().int().min(1).max(0xffff).default(64),
  maxQueueDepth: z.number().int().min(1).max(0xffff).default(1024),
  defaultQueueDepth: z.number().int().min(1).max(0xffff).default(256),
  /** Keys the node exports at once, and keys it accepts from one peer (LIMIT_REACHED beyond). */
  maxKeys: z.number().int().min(1).max(0xffff).default(4096),
  /** Bytes of the region a session gets when it brings none (SharedArrayBuffer, lazily backed). */
  sessionMemory: z
    .number()
    .int()
    .min(4096)
    .max(2 ** 32)
    .default(256 * MiB),
  /** How long export and revoke wait for every peer to acknowledge (then the peer is down). */
  ackTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
});

export type LibfabricConfig = z.infer<typeof libfabricConfigSchema>;
export type LibfabricConfigInput = z.input<typeof libfabricConfigSchema>;

export function limitsOf(config: LibfabricConfig): DeviceInfo['limits'] {
  return {
    maxTransfer: config.maxTransfer,
    maxChannels: config.maxChannels,
    maxQueueDepth: config.maxQueueDepth,
    alignment: 1,
  };
}

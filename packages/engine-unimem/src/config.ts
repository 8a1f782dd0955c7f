import type { DeviceInfo } from '@vrdma/unimem-api';
import { z } from 'zod';

export type EngineLimits = DeviceInfo['limits'];

const MiB = 1024 * 1024;

/**
 * What the emulated device can do. Every field has a documented default; a node, a local
 * cluster or a cluster file may override any of them.
 */
export const engineConfigSchema = z.object({
  /** Most nodes a cluster may hold. */
  maxNodes: z.number().int().min(1).max(0x1_0000).default(64),
  /** Largest single transfer, in bytes (TOO_LONG beyond). */
  maxTransfer: z
    .number()
    .int()
    .min(1)
    .max(0xffff_ffff)
    .default(64 * MiB),
  /** Channels one session may have open (LIMIT_REACHED beyond). */
  maxChannels: z.number().int().min(1).max(0xffff).default(64),
  /** Largest channel depth a session may ask for (TOO_LONG beyond). */
  maxQueueDepth: z.number().int().min(1).max(0xffff).default(1024),
  /** Depth of a channel opened without one. */
  defaultQueueDepth: z.number().int().min(1).max(0xffff).default(256),
  /** Buffer and transfer offsets must be multiples of this (MISALIGNED otherwise); 1 = none. */
  alignment: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .refine((n) => (n & (n - 1)) === 0, 'alignment must be a power of two')
    .default(1),
  /** Keys a node's key table holds at once (LIMIT_REACHED beyond). */
  maxKeys: z.number().int().min(1).max(0x7fff_ffff).default(65_536),
  /** Bytes per second the DMA engine copies (in-process routes); 0 = as fast as memory allows. */
  linkBandwidth: z.number().min(0).default(0),
  /** Bytes one DMA step copies before the engine turns to another transfer. */
  dmaChunk: z
    .number()
    .int()
    .min(64)
    .max(64 * MiB)
    .default(256 * 1024),
  /** Bytes the engine moves in one turn before it yields to the event loop. */
  dmaBurst: z
    .number()
    .int()
    .min(64)
    .max(1024 * MiB)
    .default(4 * MiB),
  /** Transfers of one channel the engine works on at once (their chunks interleave). */
  pipelineDepth: z.number().int().min(1).max(64).default(4),
  /** Bytes of the region a session gets when it brings none. */
  sessionMemory: z
    .number()
    .int()
    .min(4096)
    .max(2 ** 31)
    .default(16 * MiB),
  /** Fabric segment: most payload bytes one TCP message carries. */
  segmentSize: z
    .number()
    .int()
    .min(64)
    .max(16 * MiB)
    .default(256 * 1024),
  /** A peer with requests pending that shows no progress for this long is declared down. */
  peerTimeoutMs: z.number().int().min(10).max(600_000).default(5_000),
  /** How often a node retries a peer that is down. */
  reconnectMs: z.number().int().min(10).max(60_000).default(250),
});

export type EngineConfig = z.output<typeof engineConfigSchema>;
export type EngineConfigInput = z.input<typeof engineConfigSchema>;

/** The defaults, spelled out (the schema's defaults applied to nothing). */
export const DEFAULT_ENGINE_CONFIG: EngineConfig = engineConfigSchema.parse({});

/** Alignment of buffers when the caller asks for none (a cache line). */
export const DEFAULT_BUFFER_ALIGN = 64;

/** Applies defaults and checks the combination; RangeError with the reason otherwise. */
export function resolveEngineConfig(input: EngineConfigInput = {}): EngineConfig {
  const parsed = engineConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RangeError(`engine config: ${issue.path.join('.')}: ${issue.message}`);
  }
  const config = parsed.data;
  if (config.defaultQueueDepth > config.maxQueueDepth)
    throw new RangeError('engine config: defaultQueueDepth exceeds maxQueueDepth');
  return config;
}

export function limitsOf(config: EngineConfig): EngineLimits {
  return {
    maxTransfer: config.maxTransfer,
    maxChannels: config.maxChannels,
    maxQueueDepth: config.maxQueueDepth,
    alignment: config.alignment,
  };
}

import type { DeviceInfo } from '@vrdma/unimem-api';

export type EngineLimits = DeviceInfo['limits'];

/** Defaults of a mock engine; every field can be overridden per cluster. */
export const DEFAULT_LIMITS: EngineLimits = {
  maxTransfer: 64 * 1024 * 1024,
  maxChannels: 64,
  maxQueueDepth: 1024,
  alignment: 1,
};

/** Bytes of the region a session gets when it brings none. */
export const DEFAULT_SESSION_MEMORY = 16 * 1024 * 1024;

/** Alignment of buffers when the caller asks for none. */
export const DEFAULT_BUFFER_ALIGN = 64;

import type { UnimemEngine } from '@vrdma/unimem-api';
import type { VerbsEngine, VerbsSession, VerbsSessionOptions } from '@vrdma/verbs-api';
import { DEFAULT_VERBS_LIMITS, type VerbsDeviceLimits } from './limits.js';
import type { QpDirectory } from './qp-directory.js';
import { VerbsSessionImpl } from './session.js';

/**
 * The verbs device of one node, built on that node's Unimem engine: its memory, its DMA
 * channels and its keys. Devices that share a `QpDirectory` form one fabric: their queue pairs
 * can connect to one another.
 */
export class VerbsDevice implements VerbsEngine {
  readonly limits: VerbsDeviceLimits;

  constructor(
    readonly unimem: UnimemEngine,
    readonly directory: QpDirectory,
    limits: Partial<VerbsDeviceLimits> = {},
  ) {
    this.limits = { ...DEFAULT_VERBS_LIMITS, ...limits };
  }

  get node(): number {
    return this.unimem.node;
  }

  openSession(options: VerbsSessionOptions = {}): VerbsSession {
    return new VerbsSessionImpl(this.unimem, this.directory, this.limits, options);
  }
}

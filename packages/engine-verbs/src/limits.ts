/** What a verbs device allows one session, beyond what its Unimem node allows. */
export interface VerbsDeviceLimits {
  /** Largest message or RDMA transfer (at most the Unimem node's largest transfer). */
  maxMessage: number;
  maxCqe: number;
  maxQpWr: number;
  /** Queue pairs per session (also bounded by the node's DMA channels: one each). */
  maxQp: number;
  maxCq: number;
  maxMr: number;
  maxPd: number;
}

export const DEFAULT_VERBS_LIMITS: VerbsDeviceLimits = {
  maxMessage: 16 << 20,
  maxCqe: 4096,
  maxQpWr: 1024,
  maxQp: 64,
  maxCq: 64,
  maxMr: 1024,
  maxPd: 64,
};

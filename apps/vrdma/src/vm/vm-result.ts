/** What a VM guest prints on its console, after this tag, as one JSON line. */
export const VM_RESULT_TAG = 'vrdma-vm-result ';

export interface ZeroCopyProof {
  /** Where, in the guest's buffer memory, the engine wrote the pattern. */
  offset: number;
  length: number;
  /** The pattern's seed (see `proofPattern`). */
  seed: number;
  /** The guest saw the pattern in its own mapping of the device, which it never wrote there. */
  sameInGuest: boolean;
}

export interface VmGuestResult {
  label: string;
  ok: boolean;
  size: number;
  rounds: number;
  /** From the guest program's start to its device open. */
  attachedMs: number;
  /** Doorbells the guest rang (guest to host crossings of the hypervisor). */
  kicks: { control: number; data: number };
  messages: { control: number; data: number };
  proof: ZeroCopyProof;
}

/** Bytes no two seeds share at the same place, cheap to make again on the host. */
export function proofPattern(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** A seed from a label, so each VM's pattern differs. */
export function seedOf(label: string): number {
  let hash = 2166136261;
  for (const char of label) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return hash >>> 0;
}

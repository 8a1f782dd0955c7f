import { webcrypto } from 'node:crypto';
import type { Access, BufferRecord } from './buffer-record.js';

/** What an exported key grants. */
export interface Grant {
  readonly key: number;
  readonly buffer: BufferRecord;
  readonly access: Access;
}

/** Keys are 53 random bits: every one is an exact JavaScript number. */
const KEY_MASK = (1n << 53n) - 1n;

/**
 * A node's exported keys. Keys are 53 random bits from the system CSPRNG: a remote node cannot
 * guess one from another, and 0 is never a key.
 */
export class KeyTable {
  private readonly grants = new Map<number, Grant>();
  private readonly scratch = new BigUint64Array(1);

  export(buffer: BufferRecord, access: Access): Grant {
    let key = 0;
    while (key === 0 || this.grants.has(key)) {
      webcrypto.getRandomValues(this.scratch);
      key = Number(this.scratch[0]! & KEY_MASK);
    }
    const grant = { key, buffer, access };
    this.grants.set(key, grant);
    buffer.keys.add(key);
    return grant;
  }

  lookup(key: number): Grant | undefined {
    return this.grants.get(key);
  }

  revoke(key: number): void {
    const grant = this.grants.get(key);
    if (!grant) return;
    grant.buffer.keys.delete(key);
    this.grants.delete(key);
  }

  get size(): number {
    return this.grants.size;
  }
}

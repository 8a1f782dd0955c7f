import { webcrypto } from 'node:crypto';
import type { Access, BufferRecord } from './buffer-record.js';

/** What an exported key grants. */
export interface Grant {
  readonly key: number;
  readonly buffer: BufferRecord;
  readonly access: Access;
}

/**
 * A node's exported keys. Keys are random: a remote node cannot guess one from another, and
 * 0 is never a key. They stay below 2^31 so that bit tricks on a key in JavaScript (which
 * work on signed 32-bit integers) never turn it negative.
 */
export class KeyTable {
  private readonly grants = new Map<number, Grant>();
  private readonly scratch = new Uint32Array(1);

  export(buffer: BufferRecord, access: Access): Grant {
    let key = 0;
    while (key === 0 || this.grants.has(key)) {
      webcrypto.getRandomValues(this.scratch);
      key = this.scratch[0]! & 0x7fff_ffff;
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

import { randomInt } from 'node:crypto';
import { VrdmaError } from '@vrdma/api-spec';
import { Refusal } from './refusal.js';

interface Entry {
  guest: number;
  kind: string;
  engine: number;
}

/**
 * The host's handles: opaque, unguessable, unique across all guests and all APIs, each valid
 * only for the guest it was minted for. Maps a guest's handle to the engine's.
 */
export class HandleTable {
  private readonly entries = new Map<number, Entry>();

  mint(guest: number, kind: string, engine: number): number {
    let handle = 0;
    while (handle === 0 || this.entries.has(handle)) handle = randomInt(1, 0xffff_ffff);
    this.entries.set(handle, { guest, kind, engine });
    return handle;
  }

  /**
   * The engine's handle behind `handle`, if it is `guest`'s and of `kind`: BAD_HANDLE otherwise,
   * as a refusal to audit when the handle is another guest's.
   */
  resolve(guest: number, kind: string, handle: number): number {
    const entry = this.entries.get(handle);
    if (!entry || entry.kind !== kind)
      throw new VrdmaError('BAD_HANDLE', `${kind} handle ${handle} does not exist`);
    if (entry.guest !== guest)
      throw new Refusal(
        'isolation',
        'BAD_HANDLE',
        `named ${kind} handle ${handle} of guest ${entry.guest}`,
      );
    return entry.engine;
  }

  release(handle: number): void {
    this.entries.delete(handle);
  }

  get size(): number {
    return this.entries.size;
  }
}

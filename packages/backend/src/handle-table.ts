import { randomInt } from 'node:crypto';
import { VrdmaError } from '@vrdma/api-spec';

export type HandleKind = 'Buffer' | 'Channel';

interface Entry {
  guest: number;
  kind: HandleKind;
  engine: number;
}

/** Raised when a guest names an object that exists but is another guest's. */
export class CrossGuestAttempt extends VrdmaError {
  constructor(
    readonly owner: number,
    message: string,
  ) {
    super('BAD_HANDLE', message);
  }
}

/**
 * The host's handles: opaque, unguessable, unique across all guests, each valid only for the
 * guest it was minted for. Maps a guest's handle to the engine's.
 */
export class HandleTable {
  private readonly entries = new Map<number, Entry>();

  mint(guest: number, kind: HandleKind, engine: number): number {
    let handle = 0;
    while (handle === 0 || this.entries.has(handle)) handle = randomInt(1, 0xffff_ffff);
    this.entries.set(handle, { guest, kind, engine });
    return handle;
  }

  /** The engine's handle behind `handle`, if it is `guest`'s and of `kind`. */
  resolve(guest: number, kind: HandleKind, handle: number): number {
    const entry = this.entries.get(handle);
    if (!entry || entry.kind !== kind) {
      throw new VrdmaError('BAD_HANDLE', `${kind.toLowerCase()} ${handle} does not exist`);
    }
    if (entry.guest !== guest) {
      throw new CrossGuestAttempt(entry.guest, `${kind.toLowerCase()} ${handle} is not yours`);
    }
    return entry.engine;
  }

  release(handle: number): void {
    this.entries.delete(handle);
  }

  /** Drops every handle of `guest`; returns how many there were. */
  releaseGuest(guest: number): number {
    let count = 0;
    for (const [handle, entry] of this.entries) {
      if (entry.guest === guest) {
        this.entries.delete(handle);
        count++;
      }
    }
    return count;
  }

  countOf(guest: number, kind?: HandleKind): number {
    let count = 0;
    for (const entry of this.entries.values())
      if (entry.guest === guest && (!kind || entry.kind === kind)) count++;
    return count;
  }
}

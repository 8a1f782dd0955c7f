import type { Engine, EngineSessionOptions, Region } from '@vrdma/api-spec';
import { KvSession } from './session.js';
import type { KvSpec } from './spec.js';

export interface KvEngineOptions {
  /** Keys one store may hold; a put of one more fails with FULL (default 1024). */
  maxKeysPerStore?: number;
  /** Bytes of memory of its own a session gets when opened without any (default 1 MiB). */
  ownMemoryBytes?: number;
}

/** One call a session of the engine served, or its disposal, in the order they happened. */
export interface KvJournalEntry {
  /** The session's label (the guest's label, when a host serves it). */
  session: string;
  /** A function of the spec, or 'dispose'. */
  fn: string;
  /** The engine's handle the call created, released or named. */
  handle?: number;
  /** The code the call failed with. */
  error?: string;
}

/**
 * A key-value engine: the device behind the key-value spec, in this process. Its stores are
 * shared by every session (a store is found by name); each session's handles and values are
 * its own. The journal records every call, so a test can tell what the host asked of it.
 */
export class KvEngine implements Engine<KvSpec> {
  readonly journal: KvJournalEntry[] = [];
  readonly maxKeysPerStore: number;
  private readonly ownMemoryBytes: number;
  private readonly stores = new Map<string, Map<number, Uint8Array>>();
  private readonly sessions = new Set<KvSession>();

  constructor(options: KvEngineOptions = {}) {
    this.maxKeysPerStore = options.maxKeysPerStore ?? 1024;
    this.ownMemoryBytes = options.ownMemoryBytes ?? 1024 * 1024;
  }

  openSession(options: EngineSessionOptions = {}): KvSession {
    // Without shared memory (native use) the session's values live in memory of the engine's.
    const memory: Region = options.memory ?? {
      id: 0,
      size: this.ownMemoryBytes,
      bytes: new Uint8Array(this.ownMemoryBytes),
    };
    const session = new KvSession(this, memory, options.label ?? `session-${this.sessions.size}`);
    this.sessions.add(session);
    return session;
  }

  /** The store called `name`, made empty on first use. */
  store(name: string): Map<number, Uint8Array> {
    let store = this.stores.get(name);
    if (!store) {
      store = new Map();
      this.stores.set(name, store);
    }
    return store;
  }

  /** A copy of what the store called `name` holds under `key`: the engine's own bytes. */
  stored(name: string, key: number): Uint8Array | undefined {
    return this.stores.get(name)?.get(key)?.slice();
  }

  /** Stores opened and values allocated by the live sessions labelled `label`. */
  heldBy(label: string): { stores: number; values: number } {
    const held = { stores: 0, values: 0 };
    for (const session of this.sessions) {
      if (session.label !== label) continue;
      held.stores += session.held.stores;
      held.values += session.held.values;
    }
    return held;
  }

  /** Called by a session once disposed: it holds nothing any more. */
  forget(session: KvSession): void {
    this.sessions.delete(session);
  }
}

export function createKvEngine(options?: KvEngineOptions): KvEngine {
  return new KvEngine(options);
}

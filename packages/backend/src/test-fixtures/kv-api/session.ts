import {
  type BufferRef,
  type EngineSession,
  type Handle,
  type ImplOf,
  type Region,
  regionView,
  VrdmaError,
} from '@vrdma/api-spec';
import { RangeAllocator } from '@vrdma/memory';
import type { KvEngine, KvJournalEntry } from './engine.js';
import { type KvApi, type KvSpec, kvSpec } from './spec.js';

type KvFunction = keyof KvApi;
type ArgsOf<K extends KvFunction> = Parameters<ImplOf<KvSpec>[K]>[0];
type ResultOf<K extends KvFunction> = Awaited<ReturnType<KvApi[K]>>;

interface Span {
  offset: number;
  size: number;
}

/**
 * One tenant of a key-value engine. Every call validates its arguments against the spec (a
 * native caller may be wrong) and goes in the engine's journal. Values live in the tenant's
 * memory; `put` and `get` copy between them and the engine's stores.
 */
export class KvSession implements EngineSession<KvSpec> {
  private nextHandle = 1;
  private disposed = false;
  /** Open stores: the engine handle, and the name of the store it opens. */
  private readonly stores = new Map<number, string>();
  private readonly values = new Map<number, Span>();
  private readonly allocator: RangeAllocator;

  constructor(
    private readonly engine: KvEngine,
    readonly memory: Region,
    readonly label: string,
  ) {
    this.allocator = new RangeAllocator(memory.size);
  }

  get held(): { stores: number; values: number } {
    return { stores: this.stores.size, values: this.values.size };
  }

  openStore = this.call(
    'openStore',
    ({ name }) => {
      const store = this.nextHandle++;
      this.stores.set(store, name);
      this.engine.store(name);
      return { store: store as Handle<'Store'> };
    },
    (_, result) => result.store,
  );

  closeStore = this.call(
    'closeStore',
    ({ store }) => {
      this.storeName(store);
      this.stores.delete(store);
    },
    (args) => args.store,
  );

  allocValue = this.call(
    'allocValue',
    ({ size }) => {
      const offset = this.allocator.allocate(size);
      const value = this.nextHandle++;
      this.values.set(value, { offset, size });
      return {
        value: value as Handle<'Value'>,
        ref: { region: this.memory.id, offset, length: size },
      };
    },
    (_, result) => result.value,
  );

  freeValue = this.call(
    'freeValue',
    ({ value }) => {
      const span = this.values.get(value);
      if (!span) throw new VrdmaError('BAD_HANDLE', `${this.label} has no value ${value}`);
      this.allocator.release(span.offset);
      this.values.delete(value);
    },
    (args) => args.value,
  );

  put = this.call(
    'put',
    ({ store, key, from }) => {
      const entries = this.engine.store(this.storeName(store));
      const bytes = this.valueBytes(from);
      const replaced = entries.has(key);
      if (!replaced && entries.size >= this.engine.maxKeysPerStore)
        throw new VrdmaError('FULL', `the store holds ${this.engine.maxKeysPerStore} keys`);
      entries.set(key, bytes.slice());
      return { replaced };
    },
    (args) => args.store,
  );

  get = this.call(
    'get',
    ({ store, key, into }) => {
      const name = this.storeName(store);
      const stored = this.engine.store(name).get(key);
      if (!stored) throw new VrdmaError('NOT_FOUND', `store ${name} has no key ${key}`);
      const target = this.valueBytes(into);
      if (stored.length > target.length)
        throw new VrdmaError(
          'TOO_SMALL',
          `key ${key} holds ${stored.length} bytes; ${target.length} given`,
        );
      target.set(stored);
      return { length: stored.length };
    },
    (args) => args.store,
  );

  list = this.call(
    'list',
    ({ store, after, limit }) => {
      const entries = this.engine.store(this.storeName(store));
      const keys = [...entries.keys()]
        .filter((k) => after === undefined || k > after)
        .sort((a, b) => a - b)
        .slice(0, limit);
      return { keys: keys.map((key) => ({ key, length: entries.get(key)!.length })) };
    },
    (args) => args.store,
  );

  stat = this.call(
    'stat',
    ({ store }) => {
      const name = this.storeName(store);
      const entries = this.engine.store(name);
      let bytes = 0;
      for (const value of entries.values()) bytes += value.length;
      return { name, keys: entries.size, bytes };
    },
    (args) => args.store,
  );

  /** The bytes a reference names, in the very memory the tenant sees (native use). */
  view(ref: BufferRef): Uint8Array {
    if (ref.region !== this.memory.id)
      throw new VrdmaError('OUT_OF_RANGE', `region ${ref.region} is not ${this.label}'s`);
    return regionView(this.memory, ref.offset, ref.length);
  }

  /** Closes every store and frees every value; what the stores hold stays. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.stores.clear();
    this.values.clear();
    this.engine.forget(this);
    this.engine.journal.push({ session: this.label, fn: 'dispose' });
  }

  private storeName(store: number): string {
    const name = this.stores.get(store);
    if (name === undefined)
      throw new VrdmaError('BAD_HANDLE', `${this.label} has no store ${store}`);
    return name;
  }

  /** The bytes `ref` names, which must lie inside one of the tenant's values. */
  private valueBytes(ref: BufferRef): Uint8Array {
    const bytes = this.view(ref);
    for (const { offset, size } of this.values.values())
      if (ref.offset >= offset && ref.offset + ref.length <= offset + size) return bytes;
    throw new VrdmaError(
      'NOT_ALLOCATED',
      `[${ref.offset}, +${ref.length}) is not inside a value of ${this.label}`,
    );
  }

  /**
   * One function of the API: validates the arguments, runs `body`, and journals the call with
   * the engine handle `handleOf` names.
   */
  private call<K extends KvFunction>(
    fn: K,
    body: (args: ArgsOf<K>) => ResultOf<K>,
    handleOf: (args: ArgsOf<K>, result: ResultOf<K>) => number,
  ): KvApi[K] {
    const schema = kvSpec.lookup(fn)!.args;
    const run = async (raw?: unknown): Promise<ResultOf<K>> => {
      const entry: KvJournalEntry = { session: this.label, fn };
      try {
        if (this.disposed) throw new VrdmaError('DISCONNECTED', `${this.label} was disposed`);
        const parsed = schema.safeParse(raw ?? {});
        if (!parsed.success)
          throw new VrdmaError('INVALID_ARGUMENT', `${fn}: ${parsed.error.issues[0]?.message}`);
        const args = parsed.data as ArgsOf<K>;
        const result = body(args);
        entry.handle = handleOf(args, result);
        return result;
      } catch (error) {
        entry.error = VrdmaError.from(error).code;
        throw error;
      } finally {
        this.engine.journal.push(entry);
      }
    };
    return run as unknown as KvApi[K];
  }
}

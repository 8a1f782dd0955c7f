import {
  type ApiSpec,
  type BufferRef,
  type CompiledFunction,
  type Region,
  VrdmaError,
} from '@vrdma/api-spec';
import type { CapabilityOwners } from './capability-owners.js';
import type { HandleTable } from './handle-table.js';
import type { GuestIdentity } from './interceptor.js';
import { Refusal } from './refusal.js';

interface HeldHandle {
  kind: string;
  engine: number;
  bytes: number;
  /** Capabilities obtained through this handle: they die with it. */
  capabilities: Set<string>;
}

interface HeldCapability {
  kind: string;
  value: number;
}

/** What a guest holds, as its ledger shows it. */
export interface Holdings {
  /** Objects held, by the spec's kind names (handles and capabilities); kinds at 0 are left out. */
  held: Record<string, number>;
  /** Bytes of the handles that carry a size (a spec's `bytes` argument). */
  bytes: number;
}

/** One release the host makes for a departing guest: an engine call, then forgetting the object. */
export interface PendingRelease {
  fn: CompiledFunction;
  args: unknown;
  forget(): void;
}

/**
 * Everything one guest holds on the host, for any API, derived from its spec: the guest's
 * handles and the engine's behind them, the capabilities it obtained, their counts and bytes.
 * Translates a call's arguments for the engine (refusing what is not the guest's) and its
 * result for the guest (minting handles, recording what was created or released).
 */
export class GuestObjects {
  private readonly handles = new Map<number, HeldHandle>();
  private readonly capabilities = new Map<string, HeldCapability>();
  private readonly counts = new Map<string, number>();
  private heldBytes = 0;
  private retired = false;

  constructor(
    private readonly guest: GuestIdentity,
    private readonly spec: ApiSpec,
    private readonly table: HandleTable,
    private readonly owners: CapabilityOwners,
    private readonly regions: readonly Region[],
  ) {}

  /** Whether `handle` is one of the guest's live handles of `kind`. */
  holds(kind: string, handle: number): boolean {
    return this.handles.get(handle)?.kind === kind;
  }

  count(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  holdings(): Holdings {
    const held: Record<string, number> = {};
    for (const [kind, n] of this.counts) if (n > 0) held[kind] = n;
    return { held, bytes: this.heldBytes };
  }

  /** The bytes a call would charge to the guest's quota: the size of each handle it creates. */
  bytesCreatedBy(fn: CompiledFunction, args: unknown): number {
    let bytes = 0;
    for (const kind of fn.resultKinds.handles) bytes += this.sizeArg(kind, args);
    return bytes;
  }

  /** The arguments as the engine must see them; refuses handles, references and capabilities not the guest's. */
  toEngine(fn: CompiledFunction, args: unknown): unknown {
    const releases = fn.releases;
    if (releases && !('all' in releases) && releases.capability)
      this.requireOwned(releases.kind, (args as Record<string, number>)[releases.field]!);
    const map = fn.argKinds.map;
    if (!map) return args;
    return map(args, {
      handle: (kind, handle) => this.table.resolve(this.guest.id, kind, handle),
      bufferRef: (ref) => this.checkRef(ref),
    });
  }

  /** The result as the guest must see it; records what the call created and released. */
  fromEngine(fn: CompiledFunction, args: unknown, result: unknown): unknown {
    this.forgetReleased(fn, args);
    const map = fn.resultKinds.map;
    if (!map) return result;
    // Adopted now, it would stay in the host's tables for good: no cleanup is left to run.
    if (this.retired)
      throw new VrdmaError('DISCONNECTED', `the guest left while ${fn.name} was under way`);
    const through = this.handlesNamedIn(fn, args);
    return map(result, {
      handle: (kind, engine) => this.adopt(kind, engine, this.sizeArg(kind, args)),
      capability: (kind, value) => {
        this.adoptCapability(kind, value, through);
        return value;
      },
    });
  }

  /** The engine calls that release what the guest still holds, in the spec's release order. */
  pendingReleases(): PendingRelease[] {
    const releases: PendingRelease[] = [];
    for (const { kind, capability, release, field } of this.spec.resources.releaseOrder) {
      const fn = this.spec.lookup(release)!;
      if (capability) {
        for (const [key, held] of this.capabilities)
          if (held.kind === kind)
            releases.push({
              fn,
              args: fn.args.parse({ [field]: held.value }),
              forget: () => this.forgetCapability(key),
            });
      } else {
        for (const [handle, held] of this.handles)
          if (held.kind === kind)
            releases.push({
              fn,
              args: fn.args.parse({ [field]: held.engine }),
              forget: () => this.forgetHandle(handle),
            });
      }
    }
    return releases;
  }

  /**
   * The guest is leaving: what calls still under way create is not adopted (its engine session's
   * disposal releases it). What the guest holds is forgotten as cleanup releases it.
   */
  retire(): void {
    this.retired = true;
  }

  /** Forgets everything the guest holds, in the host's tables too. */
  forgetAll(): void {
    for (const handle of [...this.handles.keys()]) this.forgetHandle(handle);
    for (const key of [...this.capabilities.keys()]) this.forgetCapability(key);
  }

  private checkRef(ref: BufferRef): void {
    const region = this.regions.find((r) => r.id === ref.region);
    if (!region)
      throw new Refusal(
        'isolation',
        'OUT_OF_RANGE',
        `named region ${ref.region}, which is not its own`,
      );
    if (ref.offset + ref.length > region.size)
      throw new VrdmaError(
        'OUT_OF_RANGE',
        `[${ref.offset}, +${ref.length}) is outside region ${region.id} of ${region.size} bytes`,
      );
  }

  private requireOwned(kind: string, value: number): void {
    if (this.capabilities.has(keyOf(kind, value))) return;
    const code = this.spec.resources.capabilities[kind]!.refusal;
    const owner = this.owners.ownerOf(kind, value);
    if (owner !== undefined)
      throw new Refusal('isolation', code, `tried to release ${kind} ${value} of guest ${owner}`);
    throw new VrdmaError(code, `${kind} ${value} is not yours to release`);
  }

  private forgetReleased(fn: CompiledFunction, args: unknown): void {
    const releases = fn.releases;
    if (!releases) return;
    if ('all' in releases) {
      this.forgetAll();
      return;
    }
    const named = (args as Record<string, number>)[releases.field]!;
    if (releases.capability) this.forgetCapability(keyOf(releases.kind, named));
    else this.forgetHandle(named);
  }

  private adopt(kind: string, engine: number, bytes: number): number {
    const handle = this.table.mint(this.guest.id, kind, engine);
    this.handles.set(handle, { kind, engine, bytes, capabilities: new Set() });
    this.counts.set(kind, this.count(kind) + 1);
    this.heldBytes += bytes;
    return handle;
  }

  private adoptCapability(kind: string, value: number, through: number[]): void {
    const key = keyOf(kind, value);
    if (this.capabilities.has(key)) return;
    this.capabilities.set(key, { kind, value });
    this.owners.add(kind, value, this.guest.id);
    this.counts.set(kind, this.count(kind) + 1);
    for (const handle of through) this.handles.get(handle)?.capabilities.add(key);
  }

  private forgetHandle(handle: number): void {
    const held = this.handles.get(handle);
    if (!held) return;
    // Capabilities obtained through a handle die with it (the engine releases them).
    for (const key of held.capabilities) this.forgetCapability(key);
    this.handles.delete(handle);
    this.table.release(handle);
    this.counts.set(held.kind, this.count(held.kind) - 1);
    this.heldBytes -= held.bytes;
  }

  private forgetCapability(key: string): void {
    const held = this.capabilities.get(key);
    if (!held) return;
    this.capabilities.delete(key);
    this.owners.remove(held.kind, held.value);
    this.counts.set(held.kind, this.count(held.kind) - 1);
  }

  private handlesNamedIn(fn: CompiledFunction, args: unknown): number[] {
    const named: number[] = [];
    fn.argKinds.map?.(args, {
      handle: (_kind, handle) => {
        named.push(handle);
        return handle;
      },
    });
    return named;
  }

  private sizeArg(kind: string, args: unknown): number {
    const field = this.spec.resources.handles[kind]?.bytes;
    if (!field) return 0;
    const size = (args as Record<string, unknown>)[field];
    return typeof size === 'number' ? size : 0;
  }
}

function keyOf(kind: string, value: number): string {
  return `${kind}:${value}`;
}

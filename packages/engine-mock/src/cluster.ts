import { VrdmaError } from '@vrdma/api-spec';
import { MAX_NODE_OFFSET, makeGlobalAddress, nodeOf, nodeOffsetOf } from '@vrdma/unimem-api';
import { MockEngine } from './engine.js';
import { CallLog, FaultPlan } from './faults.js';
import { DEFAULT_LIMITS, DEFAULT_SESSION_MEMORY, type EngineLimits } from './limits.js';
import { type BufferRecord, type Grant, grants } from './records.js';

export interface MockClusterOptions {
  /** Node ids of the cluster (default [0, 1]). */
  nodes?: number[];
  limits?: Partial<EngineLimits>;
  /** Bytes of the region a session gets when it brings none. */
  sessionMemory?: number;
  /** Seed of the key generator: same seed, same keys. */
  seed?: number;
  /**
   * Bytes of global address space each node hands out to buffers, never reused (default: all
   * that a 48-bit node offset can name). A small one makes `alloc` run out of addresses.
   */
  addressSpace?: number;
}

/** Buffer addresses start past the first page, so that no buffer is at node offset 0. */
const FIRST_ADDRESS = 0x1000n;

/** Where a transfer's remote side landed, or why it cannot happen. */
export type RemoteTarget =
  | { ok: true; grant: Grant; view: Uint8Array }
  | { ok: false; status: 'no-permission' | 'node-down' };

interface NodeState {
  readonly engine: MockEngine;
  up: boolean;
  readonly keys: Map<number, Grant>;
  nextAddress: bigint;
}

/**
 * Several mock nodes sharing one global address space, in one process. Deterministic: no
 * timers unless completions are delayed, keys from a seeded generator.
 */
export class MockCluster {
  readonly faults = new FaultPlan();
  readonly log = new CallLog();
  readonly limits: EngineLimits;
  readonly sessionMemory: number;
  /** The node offset past the last one a buffer may have. */
  private readonly addressLimit: bigint;
  private readonly nodes = new Map<number, NodeState>();
  private rng: number;
  private nextRegion = 1;

  constructor(options: MockClusterOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.sessionMemory = options.sessionMemory ?? DEFAULT_SESSION_MEMORY;
    this.rng = (options.seed ?? 0x5eed) >>> 0 || 1;
    this.addressLimit = addressLimitOf(options.addressSpace);
    for (const id of options.nodes ?? [0, 1]) {
      if (this.nodes.has(id)) throw new RangeError(`node ${id} appears twice`);
      makeGlobalAddress(id, 0); // validates the node id
      this.nodes.set(id, {
        engine: new MockEngine(this, id),
        up: true,
        keys: new Map(),
        nextAddress: FIRST_ADDRESS,
      });
    }
  }

  engine(node: number): MockEngine {
    return this.state(node).engine;
  }

  get engines(): MockEngine[] {
    return [...this.nodes.values()].map((n) => n.engine);
  }

  /** Takes a node down (its transfers complete as 'node-down') or brings it back. */
  setNodeDown(node: number, down: boolean): void {
    this.state(node).up = !down;
  }

  /** Whether `node` is part of this cluster at all (up or down). */
  hasNode(node: number): boolean {
    return this.nodes.has(node);
  }

  isUp(node: number): boolean {
    return this.nodes.get(node)?.up === true;
  }

  reachableNodes(): number[] {
    return [...this.nodes.entries()].filter(([, n]) => n.up).map(([id]) => id);
  }

  /** A region id unique in the cluster, for regions the engine makes itself. */
  newRegionId(): number {
    return 0x8000_0000 + this.nextRegion++;
  }

  /** Reserves `size` bytes of `node`'s global address space, aligned; NO_MEMORY when it has run out. */
  reserveAddress(node: number, size: number, align: number): bigint {
    const state = this.state(node);
    const a = BigInt(align);
    const start = ((state.nextAddress + a - 1n) / a) * a;
    const end = start + BigInt(size);
    if (end > this.addressLimit)
      throw new VrdmaError(
        'NO_MEMORY',
        `node ${node} has no ${size} bytes of global address space left aligned to ${align}`,
      );
    state.nextAddress = end;
    return makeGlobalAddress(node, start);
  }

  /** Mints an unguessable key on `node` for `buffer`. */
  exportKey(node: number, buffer: BufferRecord, access: Grant['access']): number {
    const state = this.state(node);
    let key = 0;
    while (key === 0 || state.keys.has(key)) key = this.nextRandom();
    state.keys.set(key, { key, buffer, access });
    buffer.keys.add(key);
    return key;
  }

  revokeKey(node: number, key: number): void {
    const grant = this.state(node).keys.get(key);
    if (!grant) return;
    grant.buffer.keys.delete(key);
    this.state(node).keys.delete(key);
  }

  /** Checks a transfer's remote side as the remote node would, at queue time. */
  resolveRemote(
    address: bigint,
    key: number,
    wanted: 'read' | 'write',
    length: number,
  ): RemoteTarget {
    const node = this.nodes.get(nodeOf(address));
    if (!node?.up) return { ok: false, status: 'node-down' };
    const grant = node.keys.get(key);
    if (!grant || !grants(grant.access, wanted)) return { ok: false, status: 'no-permission' };
    const { buffer } = grant;
    const start = nodeOffsetOf(address) - nodeOffsetOf(buffer.address);
    // As on a real engine, a wrong range ends as a wrong key does.
    if (start < 0n || start + BigInt(length) > BigInt(buffer.size))
      return { ok: false, status: 'no-permission' };
    const at = buffer.offset + Number(start);
    return { ok: true, grant, view: buffer.region.bytes.subarray(at, at + length) };
  }

  private state(node: number): NodeState {
    const state = this.nodes.get(node);
    if (!state) throw new RangeError(`node ${node} is not in this cluster`);
    return state;
  }

  /** xorshift32: deterministic, and not sequential. */
  private nextRandom(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }
}

function addressLimitOf(addressSpace: number | undefined): bigint {
  const most = MAX_NODE_OFFSET + 1n - FIRST_ADDRESS;
  if (addressSpace === undefined) return FIRST_ADDRESS + most;
  if (!Number.isSafeInteger(addressSpace) || addressSpace < 0 || BigInt(addressSpace) > most)
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `addressSpace ${addressSpace} is not a byte count of at most ${most}`,
    );
  return FIRST_ADDRESS + BigInt(addressSpace);
}

export function createMockCluster(options?: MockClusterOptions): MockCluster {
  return new MockCluster(options);
}

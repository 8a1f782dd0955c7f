import { RangeAllocator } from '@vrdma/memory';
import type { SessionOptions, UnimemEngine } from '@vrdma/unimem-api';
import { grants } from './buffer-record.js';
import { type EngineConfig, type EngineConfigInput, resolveEngineConfig } from './config.js';
import { DmaEngine } from './dma-engine.js';
import type { Admission, Fabric, MemoryOwner } from './fabric.js';
import { KeyTable } from './key-table.js';
import { UnimemSessionImpl } from './session.js';

/** Node offsets handed out start here (so no buffer sits at offset 0) and are 2 MiB aligned. */
const ADDRESS_BASE = 1 << 21;
/** Bytes of global address space a node hands out (half the 48-bit node range). */
const ADDRESS_SPACE = 2 ** 47;

let nextRegionId = 0x8000_0000;

/**
 * One Unimem node: its DMA engine, its exported keys and its share of the global address
 * space. It is the device a backend drives, and what an application uses natively.
 */
export class UnimemNode implements UnimemEngine, MemoryOwner {
  readonly config: EngineConfig;
  readonly keys = new KeyTable();
  readonly dma: DmaEngine;
  readonly fabric: Fabric;
  private readonly addressSpace = new RangeAllocator(ADDRESS_SPACE);
  private readonly sessions = new Set<UnimemSessionImpl>();
  private sessionCount = 0;
  private alive = true;

  constructor(
    readonly node: number,
    config: EngineConfigInput | EngineConfig,
    fabricOf: (self: UnimemNode) => Fabric,
  ) {
    this.config = resolveEngineConfig(config);
    this.fabric = fabricOf(this);
    this.dma = new DmaEngine(this, this.fabric, this.config);
  }

  /** False once the node is down (simulated failure or shut down): it serves nothing. */
  get up(): boolean {
    return this.alive;
  }

  setUp(up: boolean): void {
    this.alive = up;
  }

  openSession(options: SessionOptions = {}): UnimemSessionImpl {
    this.sessionCount += 1;
    const label = options.label ?? `node${this.node}/session${this.sessionCount}`;
    const session = new UnimemSessionImpl(this, options, label, () =>
      this.sessions.delete(session),
    );
    this.sessions.add(session);
    return session;
  }

  /** Keys come from the node's one table, shared by every session: the host splits it. */
  capacityOf(kind: string): number | undefined {
    return kind === 'Key' ? this.config.maxKeys : undefined;
  }

  /** The nodes this node can reach now, itself included, in id order. */
  reachableNodes(): number[] {
    return this.fabric
      .members()
      .filter((n) => this.fabric.isUp(n))
      .sort((a, b) => a - b);
  }

  admit(key: number, nodeOffset: bigint, length: number, wanted: 'read' | 'write'): Admission {
    if (!this.alive) return { ok: false, status: 'node-down' };
    const grant = this.keys.lookup(key);
    // A wrong range ends as a wrong key does: a caller cannot learn a key first and its range after.
    if (!grant || !grants(grant.access, wanted)) return { ok: false, status: 'no-permission' };
    const { buffer } = grant;
    // Node offsets stay below 2^48: exact as doubles, and cheaper than bigint arithmetic.
    const at = Number(nodeOffset) - buffer.nodeOffset;
    if (at < 0 || at + length > buffer.size) return { ok: false, status: 'no-permission' };
    buffer.hold();
    let held = true;
    return {
      ok: true,
      view: buffer.bytes.subarray(at, at + length),
      release: () => {
        if (!held) return;
        held = false;
        buffer.unhold();
      },
    };
  }

  /** Reserves `size` bytes of this node's global address space; returns the node offset. */
  reserveAddress(size: number, align: number): number {
    return ADDRESS_BASE + this.addressSpace.allocate(size, align);
  }

  releaseAddress(nodeOffset: number): void {
    this.addressSpace.release(nodeOffset - ADDRESS_BASE);
  }

  newRegionId(): number {
    nextRegionId = nextRegionId >= 0xffff_ffff ? 0x8000_0000 : nextRegionId + 1;
    return nextRegionId;
  }

  /** Stops the node: sessions are disposed, the DMA engine halts, peers see it down. */
  async shutdown(): Promise<void> {
    for (const session of [...this.sessions]) await session.dispose();
    this.alive = false;
    this.dma.stop();
  }
}

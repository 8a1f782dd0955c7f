import { nodeOf, nodeOffsetOf } from '@vrdma/unimem-api';
import type { EngineConfig } from './config.js';
import type { DmaChannel } from './dma-channel.js';
import type { Fabric, RemoteFailure } from './fabric.js';
import type { Transfer } from './transfer.js';

/** Bytes a transfer costs the engine at least: a descriptor is never free. */
const DESCRIPTOR_COST = 64;

export interface DmaStats {
  transfers: number;
  bytes: number;
  turns: number;
}

/**
 * A node's DMA engine. It runs in turns on the event loop (never inside the call that queued
 * the work): each turn starts what the channels allow, then copies chunks of the active
 * memory transfers round-robin until its byte budget is spent. With `linkBandwidth` set, a
 * token bucket paces the copies. Transfers over a link are started here and finished by the
 * link.
 */
export class DmaEngine {
  readonly stats: DmaStats = { transfers: 0, bytes: 0, turns: 0 };
  private readonly pending = new Set<DmaChannel>();
  private running: Transfer[] = [];
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private credit: number;
  private lastRefill = performance.now();
  private stopped = false;

  constructor(
    private readonly node: { readonly node: number; readonly up: boolean },
    private readonly fabric: Fabric,
    private readonly config: EngineConfig,
  ) {
    this.credit = this.bucketSize;
  }

  /** Most bytes the pacing bucket holds: a chunk, or 2 ms at the link's rate, within a burst. */
  private get bucketSize(): number {
    return Math.min(
      this.config.dmaBurst,
      Math.max(this.config.dmaChunk, this.config.linkBandwidth * 0.002),
    );
  }

  /** Queues a transfer on its channel (the caller checked that the channel has room). */
  submit(transfer: Transfer): void {
    transfer.channel.push(transfer);
    this.pending.add(transfer.channel);
    this.kick();
  }

  /** Cancels a closed channel's unfinished transfers. */
  cancel(transfers: Transfer[]): void {
    for (const transfer of transfers) {
      if (transfer.state === 'done') continue;
      transfer.state = 'done';
      transfer.status = 'canceled';
      transfer.releaseTarget();
      if (transfer.viaLink) {
        transfer.cancelLink?.();
        // The link calls `released` once it no longer touches the local bytes.
      } else transfer.releaseLocal();
    }
    this.running = this.running.filter((t) => t.state !== 'done');
  }

  /** Stops the engine for good: nothing runs after this. */
  stop(): void {
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  private kick(): void {
    if (this.stopped || this.immediate || this.timer) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.turn();
    });
  }

  private turn(): void {
    this.stats.turns += 1;
    const initial = this.budget();
    if (initial <= 0) {
      this.schedule(true);
      return;
    }
    let budget = initial;
    this.startWhatMay();
    while (budget > 0 && this.running.length > 0) {
      let served = 0;
      for (const transfer of this.running) {
        if (budget <= 0) break;
        budget -= this.step(transfer, Math.min(budget, this.config.dmaChunk));
        served++;
      }
      // The next pass (and the next turn) starts after the last transfer served: a turn whose
      // budget runs out mid-list must not hand the same transfers the next turn's first chunks.
      this.running = [...this.running.slice(served), ...this.running.slice(0, served)].filter(
        (t) => t.state !== 'done',
      );
      // Finished transfers may let queued (or fenced) ones start within the same turn.
      this.startWhatMay();
    }
    this.spend(initial - budget);
    this.schedule(false);
  }

  /**
   * Another turn only when copies remain (or, starved by pacing, starts wait): channels
   * blocked on a link's transfers are kicked again when those finish, so nothing spins.
   */
  private schedule(starved: boolean): void {
    if (this.stopped || this.immediate || this.timer) return;
    if (this.running.length === 0 && !(starved && this.pending.size > 0)) return;
    if (this.config.linkBandwidth > 0 && this.credit < DESCRIPTOR_COST) {
      const waitMs = ((DESCRIPTOR_COST - this.credit) / this.config.linkBandwidth) * 1000;
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.turn();
        },
        Math.max(1, Math.ceil(waitMs)),
      );
      return;
    }
    this.kick();
  }

  /** Bytes this turn may move: the burst, or the bucket's credit when paced. */
  private budget(): number {
    if (this.config.linkBandwidth <= 0) return this.config.dmaBurst;
    const now = performance.now();
    this.credit = Math.min(
      this.bucketSize,
      this.credit + ((now - this.lastRefill) / 1000) * this.config.linkBandwidth,
    );
    this.lastRefill = now;
    return Math.floor(this.credit);
  }

  private spend(bytes: number): void {
    if (this.config.linkBandwidth > 0) this.credit -= bytes;
  }

  private startWhatMay(): void {
    for (const channel of this.pending) {
      if (channel.closed) {
        this.pending.delete(channel);
        continue;
      }
      for (;;) {
        const transfer = channel.startNext(this.config.pipelineDepth);
        if (!transfer) break;
        this.begin(transfer);
      }
      if (!channel.hasQueued) this.pending.delete(channel);
    }
  }

  private begin(transfer: Transfer): void {
    const node = nodeOf(transfer.remote);
    const route = this.fabric.route(node);
    if (!this.node.up || !route) {
      this.finish(transfer, 'node-down');
      return;
    }
    if (route.kind === 'link') {
      if (!route.link.up) {
        this.finish(transfer, 'node-down');
        return;
      }
      transfer.viaLink = true;
      transfer.cancelLink = route.link.start({
        kind: transfer.kind,
        key: transfer.key,
        address: transfer.remote,
        local: transfer.localView,
        done: (status) => this.finish(transfer, status),
        released: () => transfer.releaseLocal(),
      });
      return;
    }
    const admission = route.owner.admit(
      transfer.key,
      nodeOffsetOf(transfer.remote),
      transfer.length,
      transfer.kind,
    );
    if (!admission.ok) {
      this.finish(transfer, admission.status);
      return;
    }
    transfer.target = admission;
    transfer.owner = route.owner;
    if (transfer.length === 0) {
      this.finish(transfer, 'ok');
      return;
    }
    this.running.push(transfer);
  }

  /** Copies one chunk of a memory transfer; returns what it cost the budget. */
  private step(transfer: Transfer, most: number): number {
    if (transfer.state === 'done') return 0;
    if (!this.node.up || !transfer.owner?.up) {
      this.finish(transfer, 'node-down');
      return DESCRIPTOR_COST;
    }
    const from = transfer.moved;
    const count = Math.min(most, transfer.length - from);
    const target = transfer.target!.view;
    // The DMA: one copy, from the source's memory into the destination's memory.
    if (transfer.kind === 'write')
      target.set(transfer.localView.subarray(from, from + count), from);
    else transfer.localView.set(target.subarray(from, from + count), from);
    transfer.moved += count;
    if (transfer.moved === transfer.length) this.finish(transfer, 'ok');
    return Math.max(count, DESCRIPTOR_COST);
  }

  private finish(transfer: Transfer, status: 'ok' | RemoteFailure): void {
    if (transfer.state === 'done') return;
    transfer.state = 'done';
    transfer.status = status;
    transfer.releaseTarget();
    if (!transfer.viaLink) transfer.releaseLocal();
    if (status === 'ok') {
      this.stats.transfers += 1;
      this.stats.bytes += transfer.length;
    }
    if (!transfer.channel.closed) {
      transfer.channel.settled();
      if (transfer.channel.hasQueued) {
        this.pending.add(transfer.channel);
        this.kick();
      }
    }
  }
}

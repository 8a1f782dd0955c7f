import { randomInt } from 'node:crypto';
import { VrdmaError } from '@vrdma/api-spec';
import { createSharedRegion } from '@vrdma/memory';
import type { SessionOptions, UnimemEngine } from '@vrdma/unimem-api';
import type { BufferRecord } from './buffer-record.js';
import { statusOfErrno } from './completion-status.js';
import {
  type LibfabricConfig,
  type LibfabricConfigInput,
  libfabricConfigSchema,
  providerName,
} from './config.js';
import type { ControlMessage, PeerLink } from './control-messages.js';
import { GlobalSlots, registrationKey, SLOT_SIZE } from './global-slots.js';
import {
  type NativeEndpoint,
  type NativeLibfabric,
  type NativeRegistration,
  nativeLibfabric,
} from './native.js';
import { grants, type Peer, type RemoteExport } from './peer.js';
import { Progress } from './progress.js';
import { LibfabricSession } from './session.js';
import type { Transfer } from './transfer.js';

const FI_EAGAIN = -11;
/** A peer that cannot make progress alone is kicked at most this often per busy peer. */
const KICK_INTERVAL_MS = 1;
/** How long a kicked node keeps progressing after the last kick. */
const KICK_LINGER_MS = 20;

interface LocalExport extends RemoteExport {
  registration: NativeRegistration;
}

let nextRegionId = 0x9000_0000;

/**
 * One Unimem node on libfabric: an RDM endpoint, its registrations and its view of the peers.
 * Keys and ranges are checked here, before a transfer is posted, against the exports each
 * peer announced over its control connection; libfabric's own check of the registration key
 * and bounds stays underneath as the guard of the memory. Completions may come in any order;
 * channels put them back in order.
 */
export class LibfabricNode implements UnimemEngine {
  readonly config: LibfabricConfig;
  /** The provider libfabric chose (`tcp;ofi_rxm`, `shm`, ...). */
  readonly provider: string;
  /** This endpoint's fi_getname: what a peer passes to fi_av_insert. */
  readonly name: Buffer;
  readonly slots = new GlobalSlots();
  private readonly native: NativeLibfabric;
  private readonly endpoint: NativeEndpoint;
  private readonly progress: Progress;
  private readonly peers = new Map<number, Peer>();
  private readonly exports = new Map<number, LocalExport>();
  private readonly inflight = new Map<number, Transfer>();
  private readonly backlog: Transfer[] = [];
  private readonly acks = new Map<number, { node: number; done: () => void }>();
  private readonly sessions = new Set<LibfabricSession>();
  private nextOp = 1;
  private nextSeq = 1;
  private sessionCount = 0;
  private alive = true;

  constructor(
    readonly node: number,
    config: LibfabricConfigInput = {},
  ) {
    this.config = libfabricConfigSchema.parse(config);
    const wanted = providerName(this.config.provider);
    if (this.config.iface) process.env.FI_TCP_IFACE = this.config.iface;
    this.native = nativeLibfabric();
    let opened: ReturnType<NativeLibfabric['open']>;
    try {
      opened = this.native.open(wanted);
    } catch (error) {
      throw new VrdmaError(
        'TRANSPORT',
        `libfabric has no usable provider '${wanted}' with FI_EP_RDM and FI_RMA here ` +
          `(fi_info -p '${wanted}' says why): ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.endpoint = opened.endpoint;
    this.provider = opened.provider;
    this.name = opened.name;
    this.progress = new Progress(
      this.native,
      this.endpoint,
      opened.waitFd,
      (flat) => this.onCompletions(flat),
      () => this.inflight.size > 0 || this.backlog.length > 0,
    );
    this.peers.set(node, {
      node,
      fiAddr: this.native.insertAddress(this.endpoint, this.name),
      up: true,
      exports: new Map(),
      link: undefined,
      lastKick: 0,
    });
  }

  openSession(options: SessionOptions = {}): LibfabricSession {
    this.requireAlive();
    this.sessionCount += 1;
    const label = options.label ?? `node${this.node}/session${this.sessionCount}`;
    nextRegionId = nextRegionId >= 0xffff_ffff ? 0x9000_0000 : nextRegionId + 1;
    const memory = options.memory ?? createSharedRegion(nextRegionId, this.config.sessionMemory);
    const session = new LibfabricSession(this, memory, label, () => this.sessions.delete(session));
    this.sessions.add(session);
    return session;
  }

  /** Every node of the cluster this node knows, reachable or not, itself included. */
  members(): number[] {
    return [...this.peers.keys()].sort((a, b) => a - b);
  }

  /** The nodes reachable now, itself included, in id order. */
  reachableNodes(): number[] {
    return [...this.peers.values()]
      .filter((p) => p.up)
      .map((p) => p.node)
      .sort((a, b) => a - b);
  }

  isUp(node: number): boolean {
    return this.peers.get(node)?.up === true;
  }

  /** What the node is doing: progress turns taken so far, transfers in flight or queued. */
  stats(): { progressTurns: number; inFlight: number; queued: number } {
    return {
      progressTurns: this.progress.turns,
      inFlight: this.inflight.size,
      queued: this.backlog.length,
    };
  }

  get up(): boolean {
    return this.alive;
  }

  /** A peer whose control connection said hello: from now on it is reachable. */
  attachPeer(node: number, name: Buffer, link: PeerLink): void {
    this.requireAlive();
    if (node === this.node) throw new VrdmaError('INVALID_ARGUMENT', `node ${node} is this node`);
    if (this.peers.get(node)?.up) this.detachPeer(node);
    const fiAddr = this.native.insertAddress(this.endpoint, name);
    this.peers.set(node, { node, fiAddr, up: true, exports: new Map(), link, lastKick: 0 });
    // A peer that joins late learns what is already exported.
    for (const [key, e] of this.exports)
      link.send({ t: 'export', seq: 0, key, slot: e.slot, length: e.length, access: e.access });
  }

  /**
   * A peer that went away (its control connection closed): everything in flight to it ends
   * 'node-down' now, whether or not libfabric ever reports it, and nothing waits on it.
   */
  detachPeer(node: number): void {
    const peer = this.peers.get(node);
    if (!peer?.up || node === this.node) return;
    peer.up = false;
    peer.exports.clear();
    peer.link = undefined;
    for (const [op, t] of this.inflight) {
      if (t.node !== node) continue;
      this.inflight.delete(op);
      t.finish('node-down');
      t.release();
    }
    for (let i = this.backlog.length - 1; i >= 0; i--) {
      const t = this.backlog[i]!;
      if (t.node !== node) continue;
      this.backlog.splice(i, 1);
      t.finish('node-down');
      t.release();
    }
    for (const [seq, pending] of this.acks) {
      if (pending.node !== node) continue;
      this.acks.delete(seq);
      pending.done();
    }
    // The peer's address stays in the AV: fi_av_remove while libfabric still holds operations
    // toward it crashed the process over shm (libfabric 1.17). Nothing is posted to it again;
    // a peer that comes back is inserted anew. Over shm, the file of a dead peer's region goes.
    this.native.forgetAddress(this.endpoint, peer.fiAddr);
  }

  /** A message a peer sent over its control connection (already checked by its schema). */
  onControlMessage(from: number, message: ControlMessage): void {
    const peer = this.peers.get(from);
    if (!peer?.up || !this.alive) return;
    switch (message.t) {
      case 'export':
        if (peer.exports.size < this.config.maxKeys || peer.exports.has(message.key))
          peer.exports.set(message.key, {
            slot: message.slot,
            length: message.length,
            access: message.access,
          });
        if (message.seq !== 0) peer.link?.send({ t: 'ack', seq: message.seq });
        return;
      case 'revoke':
        peer.exports.delete(message.key);
        peer.link?.send({ t: 'ack', seq: message.seq });
        return;
      case 'ack': {
        const pending = this.acks.get(message.seq);
        if (pending?.node === from) {
          this.acks.delete(message.seq);
          pending.done();
        }
        return;
      }
      case 'kick':
        this.progress.wake(KICK_LINGER_MS);
        return;
      case 'hello':
        return;
    }
  }

  /** Registers `buffer` for remote `access` under a fresh key, and tells every peer. */
  async exportBuffer(buffer: BufferRecord, access: RemoteExport['access']): Promise<number> {
    if (this.exports.size >= this.config.maxKeys)
      throw new VrdmaError(
        'LIMIT_REACHED',
        `node ${this.node} exports ${this.config.maxKeys} keys`,
      );
    let key = randomInt(1, 0xffff_ffff);
    while (this.exports.has(key)) key = randomInt(1, 0xffff_ffff);
    const bits = (access === 'write' ? 0 : 1) | (access === 'read' ? 0 : 2);
    let registration: NativeRegistration;
    try {
      registration = this.native.register(
        this.endpoint,
        buffer.bytes,
        bits,
        registrationKey(buffer.slot, key),
      );
    } catch (error) {
      // The provider's registration cache or pinned-memory limit is what runs out here.
      throw new VrdmaError('LIMIT_REACHED', `fi_mr_reg refused: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.exports.set(key, { slot: buffer.slot, length: buffer.size, access, registration });
    await this.broadcast((seq) => ({
      t: 'export',
      seq,
      key,
      slot: buffer.slot,
      length: buffer.size,
      access,
    }));
    return key;
  }

  /**
   * Withdraws a key: peers forget it first (so none posts with it again), then the
   * registration closes, after which libfabric itself refuses the key.
   */
  async revoke(key: number): Promise<void> {
    const exported = this.exports.get(key);
    if (!exported) return;
    this.exports.delete(key);
    await this.broadcast((seq) => ({ t: 'revoke', seq, key }));
    this.native.deregister(exported.registration);
  }

  /** Starts a transfer a channel let go: checks its key and range, then posts it. */
  start(transfer: Transfer): void {
    transfer.started = true;
    const peer = this.peers.get(transfer.node);
    if (!peer?.up) {
      transfer.finish('node-down');
      transfer.release();
      return;
    }
    if (!this.admitted(peer, transfer)) {
      transfer.finish('no-permission');
      transfer.release();
      return;
    }
    if (this.backlog.length > 0) this.backlog.push(transfer);
    else this.post(transfer, peer);
    this.progress.wake();
  }

  /** Transfers of a closed channel: libfabric may still hold them; the buffer waits for it. */
  cancel(transfers: Transfer[]): void {
    for (const t of transfers) {
      const queued = this.backlog.indexOf(t);
      if (queued >= 0) this.backlog.splice(queued, 1);
      if (t.op === undefined) t.release();
    }
  }

  async shutdown(): Promise<void> {
    if (!this.alive) return;
    for (const session of [...this.sessions]) await session.dispose();
    this.alive = false;
    for (const peer of this.peers.values()) {
      peer.link?.close();
      if (peer.node !== this.node) this.detachPeer(peer.node);
    }
    this.progress.stop();
    this.native.close(this.endpoint);
  }

  private admitted(peer: Peer, transfer: Transfer): boolean {
    const key = transfer.registrationKey % SLOT_SIZE;
    const exportSlot = Math.floor(transfer.registrationKey / SLOT_SIZE);
    const exported = peer.node === this.node ? this.exports.get(key) : peer.exports.get(key);
    if (!exported || exported.slot !== exportSlot) return false;
    if (transfer.remoteOffset + transfer.local.length > exported.length) return false;
    return grants(exported.access, transfer.kind);
  }

  private post(transfer: Transfer, peer: Peer): boolean {
    const op = this.nextOp;
    this.nextOp = this.nextOp >= 0xffff_ffff ? 1 : this.nextOp + 1;
    let result: number;
    try {
      result = this.native.post(
        this.endpoint,
        transfer.kind === 'read',
        transfer.local,
        peer.fiAddr,
        transfer.remoteOffset,
        transfer.registrationKey,
        op,
      );
    } catch {
      transfer.finish('node-down');
      transfer.release();
      return true;
    }
    // A provider that is full, or still connecting, may need the peer's progress to go on.
    this.kick(peer);
    if (result === FI_EAGAIN) {
      if (!this.backlog.includes(transfer)) this.backlog.unshift(transfer);
      return false;
    }
    transfer.op = op;
    this.inflight.set(op, transfer);
    return true;
  }

  private kick(peer: Peer): void {
    if (!this.progress.needsKicks || !peer.link) return;
    const now = Date.now();
    if (now - peer.lastKick < KICK_INTERVAL_MS) return;
    peer.lastKick = now;
    peer.link.send({ t: 'kick' });
  }

  private onCompletions(flat: number[]): void {
    for (let i = 0; i < flat.length; i += 2) {
      const t = this.inflight.get(flat[i]!);
      if (!t) continue;
      this.inflight.delete(flat[i]!);
      t.op = undefined;
      t.release();
      t.finish(statusOfErrno(flat[i + 1]!));
    }
    while (this.backlog.length > 0) {
      const t = this.backlog.shift()!;
      const peer = this.peers.get(t.node);
      if (!peer?.up) {
        t.finish('node-down');
        t.release();
        continue;
      }
      if (!this.post(t, peer)) break;
    }
    // Peers that progress only when kicked are kicked again while our transfers to them last.
    if (this.progress.needsKicks)
      for (const t of this.inflight.values()) this.kick(this.peers.get(t.node)!);
  }

  private async broadcast(message: (seq: number) => ControlMessage): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const peer of this.peers.values()) {
      if (!peer.up || !peer.link) continue;
      const seq = this.nextSeq;
      this.nextSeq = this.nextSeq >= 0xffff_ffff ? 1 : this.nextSeq + 1;
      waits.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            // A peer that cannot confirm in time is treated as gone.
            this.acks.delete(seq);
            this.detachPeer(peer.node);
            resolve();
          }, this.config.ackTimeoutMs);
          this.acks.set(seq, {
            node: peer.node,
            done: () => {
              clearTimeout(timer);
              resolve();
            },
          });
        }),
      );
      peer.link.send(message(seq));
    }
    await Promise.all(waits);
  }

  private requireAlive(): void {
    if (!this.alive) throw new VrdmaError('NODE_DOWN', `node ${this.node} is shut down`);
  }
}

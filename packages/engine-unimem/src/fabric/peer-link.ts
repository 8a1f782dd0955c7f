import { connect, type Socket } from 'node:net';
import type { LinkOperation, RemoteLink } from '../fabric.js';
import {
  ACCEPTOR_HELLO_BYTES,
  collectPayload,
  NONCE_BYTES,
  newNonce,
  PROOF_BYTES,
  proofOf,
  sameProof,
} from './handshake.js';
import { MessageReader, type PayloadSink } from './message-reader.js';
import {
  encodeHeader,
  type Header,
  MessageType,
  PROTOCOL_MAGIC,
  PROTOCOL_VERSION,
  ProtocolError,
  statusOf,
  type WireStatus,
} from './protocol.js';
import type { FabricAuth } from './refusal-log.js';

export interface PeerAddress {
  id: number;
  host: string;
  port: number;
}

export interface PeerLinkOptions {
  self: number;
  segmentSize: number;
  peerTimeoutMs: number;
  reconnectMs: number;
  /** The cluster's secret, to prove this node and check the peer; where refusals are logged. */
  auth: FabricAuth;
  /** Called whenever the link goes up or down. */
  onChange(): void;
}

interface Pending {
  readonly op: LinkOperation;
  readonly request: number;
  /** Payload bytes handed to the socket (write) or received (read). */
  progress: number;
  /** Payload writes the socket has not finished with: it still reads the guest's bytes. */
  unflushed: number;
  /** No more bytes move for it: finished, canceled or the link died. */
  stopped: boolean;
  released: boolean;
}

/**
 * This node's way to one peer: it dials the peer, says HELLO, then carries this node's
 * transfers to it. A write's payload goes to the socket straight from the guest's buffer,
 * segment by segment as the socket drains; a read's payload lands straight in the guest's
 * buffer. If the peer goes away (connection lost, or no progress for `peerTimeoutMs` while
 * transfers are pending) every pending transfer ends as 'node-down' and the link redials.
 */
export class PeerLink implements RemoteLink {
  up = false;
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  /** Operations whose guest bytes the socket may still hold (pending or not). */
  private readonly holding = new Set<Pending>();
  private nextRequest = 1;
  private drainWaiters: Array<() => void> = [];
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private lastProgress = 0;
  private closed = false;
  /** This connection's nonce, sent in HELLO: the peer's proof must cover it. */
  private nonce: Buffer = Buffer.alloc(0);
  /** The last refusal logged: a peer redialled every reconnectMs is reported once, not each time. */
  private lastRefusal: string | undefined;

  constructor(
    readonly peer: PeerAddress,
    private readonly options: PeerLinkOptions,
  ) {}

  /** Dials the peer (again after a failure, until closed). */
  connect(): void {
    if (this.closed || this.socket) return;
    const socket = connect({ host: this.peer.host, port: this.peer.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const reader = new MessageReader((h) => this.onMessage(h), this.options.segmentSize);
    socket.on('connect', () => {
      this.nonce = newNonce();
      socket.write(
        Buffer.concat([
          encodeHeader({
            type: MessageType.HELLO,
            status: PROTOCOL_VERSION,
            node: this.options.self,
            key: PROTOCOL_MAGIC,
            length: NONCE_BYTES,
          }),
          this.nonce,
        ]),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      this.lastProgress = performance.now();
      try {
        reader.push(chunk);
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
    socket.on('drain', () => {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resume of waiters) resume();
    });
    socket.on('error', () => {});
    socket.on('close', () => this.lost(socket));
  }

  start(op: LinkOperation): () => void {
    const request = this.nextRequest;
    this.nextRequest = this.nextRequest === 0xffff_ffff ? 1 : this.nextRequest + 1;
    const pending: Pending = {
      op,
      request,
      progress: 0,
      unflushed: 0,
      stopped: false,
      released: false,
    };
    if (this.pending.size === 0 && this.holding.size === 0) this.lastProgress = performance.now();
    this.pending.set(request, pending);
    this.holding.add(pending);
    this.armWatchdog();
    this.send({
      type: op.kind === 'write' ? MessageType.WRITE : MessageType.READ,
      request,
      key: op.key,
      length: op.local.length,
      address: op.address,
    });
    if (op.kind === 'write') this.pushWrite(pending);
    return () => this.cancel(pending);
  }

  /** Closes the link for good: pending transfers end as 'node-down', no redial. */
  close(): void {
    this.closed = true;
    this.up = false; // at once: no transfer may start on a link being torn down
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.socket?.destroy();
    this.failAll();
    this.disarmWatchdog();
  }

  private onMessage(h: Header): PayloadSink | undefined {
    if (!this.up) return this.handshake(h);
    switch (h.type) {
      case MessageType.WRITE_DONE:
      case MessageType.READ_DONE:
        this.onDone(h);
        return undefined;
      case MessageType.READ_DATA:
        return this.readData(h);
      default:
        throw new ProtocolError(`unexpected message type ${h.type}`);
    }
  }

  /** The dialer's side of the handshake (see handshake.ts): the peer proves itself first. */
  private handshake(h: Header): PayloadSink {
    if (h.type !== MessageType.HELLO || h.key !== PROTOCOL_MAGIC || h.node !== this.peer.id)
      this.refuse(`it did not answer HELLO as node ${this.peer.id}`);
    if (h.status !== PROTOCOL_VERSION)
      this.refuse(`it speaks fabric protocol version ${h.status}, this node ${PROTOCOL_VERSION}`);
    return collectPayload('HELLO', h.length, ACCEPTOR_HELLO_BYTES, (payload) => {
      const key = this.options.auth.key;
      const ids = { dialer: this.options.self, acceptor: this.peer.id };
      const nonces = { dialer: this.nonce, acceptor: payload.subarray(0, NONCE_BYTES) };
      if (!sameProof(proofOf(key, 'acceptor', ids, nonces), payload.subarray(NONCE_BYTES)))
        this.refuse("wrong fabric secret (its proof does not verify): it is not this cluster's");
      this.socket?.write(
        Buffer.concat([
          encodeHeader({ type: MessageType.PROOF, length: PROOF_BYTES }),
          proofOf(key, 'dialer', ids, nonces),
        ]),
      );
      this.lastRefusal = undefined;
      this.up = true;
      this.options.onChange();
    });
  }

  private refuse(reason: string): never {
    if (reason !== this.lastRefusal) {
      this.lastRefusal = reason;
      const { id, host, port } = this.peer;
      this.options.auth.log.refuse(
        `fabric: node ${this.options.self} refused node ${id} at ${host}:${port}: ${reason}`,
      );
    }
    throw new ProtocolError(reason);
  }

  private onDone(h: Header): void {
    const pending = this.pending.get(h.request);
    if (!pending) return; // canceled meanwhile
    const status = statusOf(h.status);
    const kind = h.type === MessageType.WRITE_DONE ? 'write' : 'read';
    if (!status || pending.op.kind !== kind)
      throw new ProtocolError(`bad completion for request ${h.request}`);
    if (status === 'ok' && kind === 'read' && pending.progress !== pending.op.local.length)
      throw new ProtocolError(`read ${h.request} completed short`);
    this.finish(pending, status);
  }

  private readData(h: Header): PayloadSink | undefined {
    const pending = this.pending.get(h.request);
    if (!pending) return undefined; // canceled: the payload is dropped
    if (
      pending.op.kind !== 'read' ||
      h.address !== BigInt(pending.progress) ||
      pending.progress + h.length > pending.op.local.length
    ) {
      throw new ProtocolError(`request ${h.request}: unexpected read data`);
    }
    const base = pending.progress;
    return {
      // A cancel may come between two pieces of one segment: after it, not one more byte.
      data: (bytes, at) => {
        if (!pending.stopped) pending.op.local.set(bytes, base + at);
      },
      end: () => {
        pending.progress += h.length;
      },
    };
  }

  /** Hands a write's payload to the socket in place, one segment at a time as it drains. */
  private pushWrite(pending: Pending): void {
    const socket = this.socket;
    const { local } = pending.op;
    while (socket && !pending.stopped && pending.progress < local.length) {
      const at = pending.progress;
      const count = Math.min(this.options.segmentSize, local.length - at);
      this.send({
        type: MessageType.WRITE_DATA,
        request: pending.request,
        length: count,
        address: BigInt(at),
      });
      pending.unflushed += 1;
      const more = socket.write(local.subarray(at, at + count), () => {
        this.lastProgress = performance.now();
        pending.unflushed -= 1;
        this.release(pending);
      });
      pending.progress += count;
      if (!more) {
        this.drainWaiters.push(() => this.pushWrite(pending));
        return;
      }
    }
  }

  private finish(pending: Pending, status: WireStatus): void {
    if (pending.stopped) return;
    pending.stopped = true;
    this.pending.delete(pending.request);
    pending.op.done(status);
    this.release(pending);
  }

  private cancel(pending: Pending): void {
    if (pending.stopped) return;
    pending.stopped = true;
    this.pending.delete(pending.request);
    if (this.up) this.send({ type: MessageType.ABORT, request: pending.request });
    this.release(pending);
  }

  /** Tells the engine the guest's bytes are free once the socket holds none of them. */
  private release(pending: Pending): void {
    if (!pending.stopped || pending.unflushed > 0 || pending.released) return;
    pending.released = true;
    this.holding.delete(pending);
    if (this.holding.size === 0) this.disarmWatchdog();
    pending.op.released();
  }

  private lost(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    const wasUp = this.up;
    this.up = false;
    this.drainWaiters = [];
    this.failAll();
    if (wasUp) this.options.onChange();
    if (!this.closed) {
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        this.connect();
      }, this.options.reconnectMs);
      this.reconnectTimer.unref();
    }
  }

  private failAll(): void {
    for (const pending of [...this.pending.values()]) this.finish(pending, 'node-down');
  }

  /**
   * Armed while any operation is pending or the socket still holds guest bytes (a canceled
   * write's segments): a hung peer must neither hang a transfer nor pin a buffer for ever.
   */
  private armWatchdog(): void {
    if (this.watchdog) return;
    const every = Math.max(10, Math.floor(this.options.peerTimeoutMs / 4));
    this.watchdog = setInterval(() => {
      if (performance.now() - this.lastProgress > this.options.peerTimeoutMs)
        this.socket?.destroy(new Error(`node ${this.peer.id} made no progress`));
    }, every);
    this.watchdog.unref();
  }

  private disarmWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private send(header: Parameters<typeof encodeHeader>[0]): void {
    if (this.socket && !this.socket.destroyed) this.socket.write(encodeHeader(header));
  }
}

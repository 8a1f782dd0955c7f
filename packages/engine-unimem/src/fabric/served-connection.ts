import type { Socket } from 'node:net';
import { nodeOf, nodeOffsetOf } from '@vrdma/unimem-api';
import type { Admission, MemoryOwner } from '../fabric.js';
import {
  ACCEPTOR_HELLO_BYTES,
  collectPayload,
  HANDSHAKE_TIMEOUT_MS,
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
  statusCode,
} from './protocol.js';
import type { FabricAuth } from './refusal-log.js';

type Granted = Extract<Admission, { ok: true }>;

/** Requests one peer may have in progress at once; more is a protocol error, not a leak. */
const MAX_IN_PROGRESS = 65_536;

interface IncomingWrite {
  readonly admission: Granted;
  readonly length: number;
  received: number;
}

interface OutgoingRead {
  readonly admission: Granted;
  readonly length: number;
  sent: number;
  unflushed: number;
  stopped: boolean;
  released: boolean;
}

/**
 * The owner's side of one connection: a peer's requests against this node's memory. The key
 * check happens here, on the owning node, when a request arrives; written payload lands in
 * the exported buffer as it comes off the socket, read payload is sent from it in place.
 */
export class ServedConnection {
  private readonly reader: MessageReader;
  private readonly writes = new Map<number, IncomingWrite>();
  private readonly reads = new Map<number, OutgoingRead>();
  private drainWaiters: Array<() => void> = [];
  /** Set once the peer proved it holds the cluster's secret: requests are served from then on. */
  private peer: number | undefined;
  /** The handshake under way: the node the peer claims to be, the proof it must give. */
  private claimed: number | undefined;
  private expectedProof: Buffer | undefined;
  private readonly remote: string;
  private lastProgress = performance.now();
  private readonly watchdog: ReturnType<typeof setInterval>;
  private readonly handshakeTimer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly socket: Socket,
    private readonly owner: MemoryOwner,
    private readonly segmentSize: number,
    peerTimeoutMs: number,
    private readonly auth: FabricAuth,
    onClose: () => void,
  ) {
    this.reader = new MessageReader((h) => this.onMessage(h), segmentSize);
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    // A connection that never authenticates holds a socket and nothing else, for a while.
    this.handshakeTimer = setTimeout(() => {
      if (this.peer !== undefined) return;
      this.logRefusal(`did not authenticate within ${HANDSHAKE_TIMEOUT_MS} ms`);
      socket.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    this.handshakeTimer.unref();
    // A peer that stalls mid-transfer must not pin this node's buffers (free says BUSY while
    // they are held): without progress for the peer timeout, the connection is dropped.
    this.watchdog = setInterval(
      () => {
        const busy = this.writes.size + this.reads.size > 0;
        if (busy && performance.now() - this.lastProgress > peerTimeoutMs)
          socket.destroy(new Error(`peer ${this.peer} stalled`));
      },
      Math.max(10, Math.floor(peerTimeoutMs / 4)),
    );
    this.watchdog.unref();
    socket.on('data', (chunk: Buffer) => {
      this.lastProgress = performance.now();
      try {
        this.reader.push(chunk);
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
    socket.on('close', () => {
      clearInterval(this.watchdog);
      clearTimeout(this.handshakeTimer);
      this.dropAll();
      onClose();
    });
  }

  /** Whether the peer has proved it holds the cluster's secret. */
  get authenticated(): boolean {
    return this.peer !== undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onMessage(h: Header): PayloadSink | undefined {
    if (this.peer === undefined) return this.handshake(h);
    switch (h.type) {
      case MessageType.WRITE:
        this.startWrite(h);
        return undefined;
      case MessageType.WRITE_DATA:
        return this.writeData(h);
      case MessageType.READ:
        this.startRead(h);
        return undefined;
      case MessageType.ABORT:
        this.abort(h.request);
        return undefined;
      default:
        throw new ProtocolError(`unexpected message type ${h.type}`);
    }
  }

  /** The acceptor's side of the handshake (see handshake.ts): nothing else before it ends. */
  private handshake(h: Header): PayloadSink {
    if (this.claimed === undefined) {
      if (h.type !== MessageType.HELLO || h.key !== PROTOCOL_MAGIC)
        this.refuse('not a fabric peer (it did not start with HELLO)');
      if (h.status !== PROTOCOL_VERSION)
        this.refuse(
          `it speaks fabric protocol version ${h.status}, this node ${PROTOCOL_VERSION} (authenticated)`,
        );
      return collectPayload('HELLO', h.length, NONCE_BYTES, (dialerNonce) => {
        this.claimed = h.node;
        const ids = { dialer: h.node, acceptor: this.owner.node };
        const nonces = { dialer: dialerNonce, acceptor: newNonce() };
        this.expectedProof = proofOf(this.auth.key, 'dialer', ids, nonces);
        const proof = proofOf(this.auth.key, 'acceptor', ids, nonces);
        this.socket.write(
          Buffer.concat([
            encodeHeader({
              type: MessageType.HELLO,
              status: PROTOCOL_VERSION,
              node: this.owner.node,
              key: PROTOCOL_MAGIC,
              length: ACCEPTOR_HELLO_BYTES,
            }),
            nonces.acceptor,
            proof,
          ]),
        );
      });
    }
    if (h.type !== MessageType.PROOF) this.refuse(`sent message type ${h.type} before its PROOF`);
    return collectPayload('PROOF', h.length, PROOF_BYTES, (proof) => {
      if (!sameProof(this.expectedProof!, proof))
        this.refuse("wrong fabric secret (its proof does not verify): it is not this cluster's");
      this.peer = this.claimed;
      clearTimeout(this.handshakeTimer);
    });
  }

  private refuse(reason: string): never {
    this.logRefusal(reason);
    throw new ProtocolError(reason);
  }

  private logRefusal(reason: string): void {
    const who = this.claimed === undefined ? '' : ` claiming to be node ${this.claimed}`;
    this.auth.log.refuse(
      `fabric: node ${this.owner.node} refused the connection from ${this.remote}${who}: ${reason}`,
    );
  }

  private admit(h: Header, wanted: 'read' | 'write'): Admission {
    if (this.writes.has(h.request) || this.reads.has(h.request))
      throw new ProtocolError(`request ${h.request} is already in progress`);
    if (this.writes.size + this.reads.size >= MAX_IN_PROGRESS)
      throw new ProtocolError(`more than ${MAX_IN_PROGRESS} requests in progress`);
    if (nodeOf(h.address) !== this.owner.node) return { ok: false, status: 'no-permission' };
    return this.owner.admit(h.key, nodeOffsetOf(h.address), h.length, wanted);
  }

  private startWrite(h: Header): void {
    const admission = this.admit(h, 'write');
    if (!admission.ok) {
      this.done(MessageType.WRITE_DONE, h.request, admission.status);
      return;
    }
    if (h.length === 0) {
      admission.release();
      this.done(MessageType.WRITE_DONE, h.request, 'ok');
      return;
    }
    if (this.writes.size + this.reads.size === 0) this.lastProgress = performance.now();
    this.writes.set(h.request, { admission, length: h.length, received: 0 });
  }

  private writeData(h: Header): PayloadSink | undefined {
    // Unknown: refused or aborted; its payload is dropped.
    const write = this.writes.get(h.request);
    if (!write) return undefined;
    if (h.address !== BigInt(write.received) || write.received + h.length > write.length)
      throw new ProtocolError(`request ${h.request}: segment out of order or too long`);
    const base = write.received;
    return {
      data: (bytes, at) => write.admission.view.set(bytes, base + at),
      end: () => {
        write.received += h.length;
        if (write.received < write.length) return;
        this.writes.delete(h.request);
        write.admission.release();
        this.done(MessageType.WRITE_DONE, h.request, 'ok');
      },
    };
  }

  private startRead(h: Header): void {
    const admission = this.admit(h, 'read');
    if (!admission.ok) {
      this.done(MessageType.READ_DONE, h.request, admission.status);
      return;
    }
    const read: OutgoingRead = {
      admission,
      length: h.length,
      sent: 0,
      unflushed: 0,
      stopped: false,
      released: false,
    };
    if (this.writes.size + this.reads.size === 0) this.lastProgress = performance.now();
    this.reads.set(h.request, read);
    this.pumpRead(h.request, read);
  }

  /** Sends a read's payload segment by segment, from the buffer itself, as the socket drains. */
  private pumpRead(request: number, read: OutgoingRead): void {
    while (!read.stopped && read.sent < read.length) {
      const count = Math.min(this.segmentSize, read.length - read.sent);
      this.send({
        type: MessageType.READ_DATA,
        request,
        length: count,
        address: BigInt(read.sent),
      });
      read.unflushed += 1;
      const more = this.socket.write(
        read.admission.view.subarray(read.sent, read.sent + count),
        () => {
          this.lastProgress = performance.now();
          read.unflushed -= 1;
          this.releaseRead(read);
        },
      );
      read.sent += count;
      if (!more) {
        this.drainWaiters.push(() => this.pumpRead(request, read));
        return;
      }
    }
    if (read.stopped) return;
    read.stopped = true;
    this.reads.delete(request);
    this.done(MessageType.READ_DONE, request, 'ok');
    this.releaseRead(read);
  }

  /** The exported buffer is let go only when the socket no longer holds any of its bytes. */
  private releaseRead(read: OutgoingRead): void {
    if (!read.stopped || read.unflushed > 0 || read.released) return;
    read.released = true;
    read.admission.release();
  }

  private abort(request: number): void {
    const write = this.writes.get(request);
    if (write) {
      this.writes.delete(request);
      write.admission.release();
    }
    const read = this.reads.get(request);
    if (read) {
      this.reads.delete(request);
      read.stopped = true;
      this.releaseRead(read);
    }
  }

  private dropAll(): void {
    for (const request of [...this.writes.keys(), ...this.reads.keys()]) this.abort(request);
    this.drainWaiters = [];
  }

  private done(type: MessageType, request: number, status: Parameters<typeof statusCode>[0]): void {
    this.send({ type, request, status: statusCode(status) });
  }

  private send(header: Parameters<typeof encodeHeader>[0]): void {
    if (!this.socket.destroyed) this.socket.write(encodeHeader(header));
  }
}

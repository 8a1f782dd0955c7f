import type { BufferRef, Handle } from '@vrdma/api-spec';
import type { GlobalAddress, UnimemSession } from '@vrdma/unimem-api';
import { nodeOf } from '@vrdma/unimem-api';
import type { QpState, RemoteEnd, WcOpcode, WcStatus } from '@vrdma/verbs-api';
import type { CompletionQueue } from './completion-queue.js';
import { addressOf, type MemoryRegion } from './memory-region.js';
import type { QpDirectory } from './qp-directory.js';

/** A work request accepted by a queue pair, waiting to run or to be matched. */
export interface WorkRequest {
  readonly post: number;
  readonly wrId: bigint;
  readonly opcode: WcOpcode;
  readonly local: BufferRef;
  /** The region of `lkey`, checked at post time; undefined when the check failed (see `early`). */
  readonly region?: MemoryRegion;
  readonly remoteAddress: bigint;
  readonly rkey: number;
  /** A status found at post time: the request completes with it when its turn comes. */
  readonly early?: WcStatus;
}

/** What the queue pair needs of its session: the Unimem session moving its bytes. */
export interface QpContext {
  readonly node: number;
  readonly unimem: UnimemSession;
  readonly directory: QpDirectory;
}

const UNIMEM_STATUS: Record<string, WcStatus> = {
  ok: 'success',
  'no-permission': 'remote-access-error',
  'node-down': 'retry-exceeded',
  canceled: 'work-request-flushed',
};

/** The moves `modifyQp` allows; ERROR and RESET are allowed from anywhere. */
const NEXT: Record<QpState, readonly QpState[]> = {
  reset: ['init'],
  init: ['init', 'rtr'],
  rtr: ['rts'],
  rts: ['rts'],
  error: [],
};

/**
 * A reliable-connected queue pair. Its send queue runs one work request at a time, in order,
 * on a Unimem DMA channel of its own: a SEND is a Unimem write into the receive the responder
 * posted first (waiting for one, as an RC requester retries on receiver-not-ready forever); an
 * RDMA WRITE or READ is a Unimem write or read that the responder's node admits by the rkey.
 * A request that fails moves the queue pair to ERROR, which flushes the rest.
 */
export class QueuePair {
  state: QpState = 'reset';
  remote: RemoteEnd | undefined;
  readonly sends: WorkRequest[] = [];
  readonly recvs: WorkRequest[] = [];
  private running = false;
  private destroyed = false;
  /** Wakes a requester waiting for a receive: this queue pair posted one, or either end changed state. */
  private recvWaiters: Array<() => void> = [];

  constructor(
    readonly handle: Handle<'Qp'>,
    readonly qpNum: number,
    readonly pd: Handle<'Pd'>,
    readonly sendCq: CompletionQueue,
    readonly recvCq: CompletionQueue,
    readonly maxSendWr: number,
    readonly maxRecvWr: number,
    /** The Unimem DMA channel its requests run on. */
    readonly channelHandle: Handle<'Channel'>,
    private readonly context: QpContext,
  ) {}

  /** Whether `modifyQp` may move it to `next`. */
  canMoveTo(next: QpState): boolean {
    return next === 'error' || next === 'reset' || NEXT[this.state].includes(next);
  }

  moveTo(next: QpState, remote?: RemoteEnd): void {
    if (next === 'rtr') this.remote = remote;
    if (next === 'reset') this.remote = undefined;
    this.state = next;
    if (next === 'error' || next === 'reset') this.flush();
    this.wakeRequesters();
  }

  postSend(request: WorkRequest): void {
    this.sends.push(request);
    if (!this.running) void this.runSends();
  }

  postRecv(request: WorkRequest): void {
    if (request.early) {
      this.complete(this.recvCq, request, request.early, 0);
      if (request.early !== 'local-qp-operation-error') this.moveTo('error');
      return;
    }
    if (this.state === 'error') {
      this.complete(this.recvCq, request, 'work-request-flushed', 0);
      return;
    }
    this.recvs.push(request);
    this.wakeRequesters();
  }

  /** Flushes every request and leaves the directory; the session closes the channel. */
  destroy(): void {
    this.destroyed = true;
    this.context.directory.remove(this.context.node, this.qpNum);
    this.flush();
    this.wakeRequesters();
  }

  private flush(): void {
    // The send at the head may be under way: the loop completes it when its transfer ends.
    const keep = this.running && !this.destroyed ? 1 : 0;
    for (const r of this.sends.splice(keep))
      this.complete(this.sendCq, r, 'work-request-flushed', 0);
    for (const r of this.recvs.splice(0)) this.complete(this.recvCq, r, 'work-request-flushed', 0);
  }

  private wakeRequesters(): void {
    for (const wake of this.recvWaiters.splice(0)) wake();
  }

  private complete(cq: CompletionQueue, r: WorkRequest, status: WcStatus, byteLen: number): void {
    cq.complete({
      post: r.post,
      wrId: r.wrId,
      status,
      opcode: r.opcode,
      byteLen: status === 'success' ? byteLen : 0,
      qpNum: this.qpNum,
    });
  }

  private async runSends(): Promise<void> {
    this.running = true;
    try {
      while (this.sends.length > 0 && !this.destroyed) {
        const request = this.sends[0]!;
        const status =
          this.state === 'error'
            ? 'work-request-flushed'
            : (request.early ?? (await this.execute(request)));
        if (this.destroyed) return;
        this.sends.shift();
        this.complete(this.sendCq, request, status, request.local.length);
        if (status !== 'success' && status !== 'local-qp-operation-error' && this.state !== 'error')
          this.moveTo('error');
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(request: WorkRequest): Promise<WcStatus> {
    // Deregistered after the post: its memory may belong to a newer region by now.
    if (request.region?.deregistered) return 'local-protection-error';
    const responder = this.responder();
    if (!responder) return 'retry-exceeded';
    if (request.opcode === 'send') return this.send(request, responder);
    // The rkey's memory must be the responder's: a requester reaches no third node.
    if (nodeOf(request.remoteAddress) !== responder.context.node) return 'remote-access-error';
    return this.transfer(
      request.opcode === 'rdma-read' ? 'read' : 'write',
      request.local,
      request.remoteAddress,
      request.rkey,
    );
  }

  /**
   * The connected peer, if it exists, can respond (RTR or RTS) and is connected to this queue
   * pair: an RC responder takes requests from its own peer only, so a queue pair that merely
   * knows (or guesses) another's number cannot send into its receives.
   */
  private responder(): QueuePair | undefined {
    if (!this.remote) return undefined;
    const peer = this.context.directory.lookup(this.remote.node, this.remote.qpNum);
    if (!peer || (peer.state !== 'rtr' && peer.state !== 'rts')) return undefined;
    const back = peer.remote;
    return back?.node === this.context.node && back.qpNum === this.qpNum ? peer : undefined;
  }

  private async send(request: WorkRequest, responder: QueuePair): Promise<WcStatus> {
    // Receiver not ready: wait for a receive, as long as both ends stay connected.
    while (responder.recvs.length === 0) {
      await new Promise<void>((resolve) => {
        responder.recvWaiters.push(resolve);
        this.recvWaiters.push(resolve);
      });
      if (this.destroyed || this.state !== 'rts') return 'work-request-flushed';
      if (responder.destroyed || (responder.state !== 'rtr' && responder.state !== 'rts'))
        return 'retry-exceeded';
    }
    // Deregistered while it waited: the receive stays for the next message.
    if (request.region?.deregistered) return 'local-protection-error';
    const recv = responder.recvs.shift()!;
    const length = request.local.length;
    if (length > recv.local.length) {
      responder.complete(responder.recvCq, recv, 'local-length-error', 0);
      responder.moveTo('error');
      return 'remote-invalid-request-error';
    }
    const region = recv.region!;
    const status = await this.transfer(
      'write',
      request.local,
      addressOf(region, recv.local),
      region.deliveryKey,
    );
    // A receive region deregistered meanwhile is the responder's fault, not the requester's.
    const received = status === 'remote-access-error' ? 'local-protection-error' : status;
    responder.complete(responder.recvCq, recv, received, length);
    return status === 'remote-access-error' ? 'remote-invalid-request-error' : status;
  }

  private async transfer(
    kind: 'write' | 'read',
    local: BufferRef,
    remote: bigint,
    key: number,
  ): Promise<WcStatus> {
    const { unimem } = this.context;
    const channel = this.channelHandle;
    let transfer: number;
    try {
      ({ transfer } = await unimem[kind]({ channel, local, remote: remote as GlobalAddress, key }));
    } catch {
      // An address outside the fabric (OUT_OF_RANGE) names nothing the rkey could grant.
      return this.destroyed ? 'work-request-flushed' : 'remote-access-error';
    }
    for (;;) {
      let completions: Awaited<ReturnType<UnimemSession['wait']>>['completions'];
      try {
        ({ completions } = await unimem.wait({ channel, max: 1, timeoutMs: 1000 }));
      } catch {
        return 'work-request-flushed';
      }
      if (this.destroyed) return 'work-request-flushed';
      const done = completions.find((c) => c.transfer === transfer);
      if (done) return UNIMEM_STATUS[done.status] ?? 'general-error';
    }
  }
}

import { randomInt } from 'node:crypto';
import { type BufferRef, type Handle, VrdmaError } from '@vrdma/api-spec';
import type { UnimemEngine, UnimemSession } from '@vrdma/unimem-api';
import type {
  DeviceAttributes,
  VerbsArgs,
  VerbsResult,
  VerbsSession,
  VerbsSessionOptions,
  WcStatus,
} from '@vrdma/verbs-api';
import { CompletionQueue } from './completion-queue.js';
import type { VerbsDeviceLimits } from './limits.js';
import { contains, type MemoryRegion } from './memory-region.js';
import type { QpDirectory } from './qp-directory.js';
import { QueuePair, type WorkRequest } from './queue-pair.js';

/** The objects of one open device context, by handle; local keys are per session. */
class Objects {
  readonly pds = new Set<number>();
  readonly mrs = new Map<number, MemoryRegion>();
  readonly byLkey = new Map<number, MemoryRegion>();
  readonly cqs = new Map<number, CompletionQueue>();
  readonly qps = new Map<number, QueuePair>();
  private nextHandle = 1;
  private nextLkey = randomInt(1, 0x7fff_0000);

  handle<K extends string>(): Handle<K> {
    return this.nextHandle++ as Handle<K>;
  }

  lkey(): number {
    this.nextLkey = this.nextLkey >= 0xffff_fff0 ? 1 : this.nextLkey + 1;
    return this.nextLkey;
  }
}

/**
 * One tenant of a verbs device: a Unimem session on the same node holds its memory (every
 * region is a Unimem buffer) and moves its bytes (every queue pair has a DMA channel).
 */
export class VerbsSessionImpl implements VerbsSession {
  private unimem: UnimemSession | undefined;
  private objects: Objects | undefined;
  private disposed = false;

  constructor(
    private readonly engine: UnimemEngine,
    private readonly directory: QpDirectory,
    private readonly limits: VerbsDeviceLimits,
    private readonly options: VerbsSessionOptions,
  ) {}

  // ---- control plane --------------------------------------------------------------------

  open = async (): Promise<DeviceAttributes> => {
    if (this.disposed) throw new VrdmaError('NOT_OPEN', 'the session is disposed');
    if (this.objects) throw new VrdmaError('ALREADY_OPEN', 'the device is already open');
    this.unimem ??= this.engine.openSession(this.options);
    await this.unimem.open();
    this.objects = new Objects();
    return this.query();
  };

  close = async (): Promise<void> => {
    const objects = this.opened('close');
    this.objects = undefined;
    for (const qp of objects.qps.values()) qp.destroy();
    for (const cq of objects.cqs.values()) cq.destroy();
    await this.unimem!.close();
  };

  query = async (): Promise<DeviceAttributes> => {
    this.opened('query');
    const info = await this.unimem!.query();
    return {
      node: info.node,
      nodes: info.nodes,
      limits: {
        maxMessage: Math.min(info.limits.maxTransfer, this.limits.maxMessage),
        maxCqe: this.limits.maxCqe,
        maxQpWr: this.limits.maxQpWr,
        maxQp: Math.min(this.limits.maxQp, info.limits.maxChannels),
        maxMr: this.limits.maxMr,
      },
    };
  };

  allocPd = async (): Promise<VerbsResult<'allocPd'>> => {
    const objects = this.opened('allocPd');
    if (objects.pds.size >= this.limits.maxPd)
      throw new VrdmaError('LIMIT_REACHED', `allocPd: ${this.limits.maxPd} protection domains`);
    const pd = objects.handle<'Pd'>();
    objects.pds.add(pd);
    return { pd };
  };

  deallocPd = async ({ pd }: VerbsArgs<'deallocPd'>): Promise<void> => {
    const objects = this.opened('deallocPd');
    this.pdOf(objects, pd, 'deallocPd');
    const used =
      [...objects.mrs.values()].some((mr) => mr.pd === pd) ||
      [...objects.qps.values()].some((qp) => qp.pd === pd);
    if (used) throw new VrdmaError('BUSY', 'deallocPd: regions or queue pairs still use it');
    objects.pds.delete(pd);
  };

  regMr = async ({ pd, length, access }: VerbsArgs<'regMr'>): Promise<VerbsResult<'regMr'>> => {
    const objects = this.opened('regMr');
    this.pdOf(objects, pd, 'regMr');
    if (objects.mrs.size >= this.limits.maxMr)
      throw new VrdmaError('LIMIT_REACHED', `regMr: ${this.limits.maxMr} memory regions`);
    const flags = {
      localWrite: access?.localWrite ?? false,
      remoteWrite: access?.remoteWrite ?? false,
      remoteRead: access?.remoteRead ?? false,
    };
    const unimem = this.unimem!;
    const buffer = await unimem.alloc({ size: length });
    try {
      const delivery = await unimem.exportBuffer({ buffer: buffer.buffer, access: 'write' });
      const remote =
        flags.remoteRead && flags.remoteWrite
          ? 'read-write'
          : flags.remoteRead
            ? 'read'
            : flags.remoteWrite
              ? 'write'
              : undefined;
      const rkey = remote
        ? (await unimem.exportBuffer({ buffer: buffer.buffer, access: remote })).key
        : 0;
      const region: MemoryRegion = {
        pd,
        buffer: buffer.buffer,
        ref: buffer.ref,
        address: buffer.address,
        access: flags,
        lkey: objects.lkey(),
        rkey,
        deliveryKey: delivery.key,
        deregistered: false,
      };
      const mr = objects.handle<'Mr'>();
      objects.mrs.set(mr, region);
      objects.byLkey.set(region.lkey, region);
      return { mr, ref: buffer.ref, address: buffer.address, length, lkey: region.lkey, rkey };
    } catch (error) {
      await unimem.free({ buffer: buffer.buffer });
      throw error;
    }
  };

  deregMr = async ({ mr }: VerbsArgs<'deregMr'>): Promise<void> => {
    const objects = this.opened('deregMr');
    const region = objects.mrs.get(mr);
    if (!region) throw new VrdmaError('BAD_HANDLE', `deregMr: no memory region ${mr}`);
    // Freeing the buffer revokes its Unimem keys: the rkey and the delivery key stop at once.
    await this.unimem!.free({ buffer: region.buffer });
    region.deregistered = true;
    objects.mrs.delete(mr);
    objects.byLkey.delete(region.lkey);
  };

  createCq = async ({ cqe }: VerbsArgs<'createCq'>): Promise<VerbsResult<'createCq'>> => {
    const objects = this.opened('createCq');
    if (cqe > this.limits.maxCqe)
      throw new VrdmaError('TOO_LONG', `createCq: ${cqe} entries, at most ${this.limits.maxCqe}`);
    if (objects.cqs.size >= this.limits.maxCq)
      throw new VrdmaError('LIMIT_REACHED', `createCq: ${this.limits.maxCq} CQs`);
    const cq = objects.handle<'Cq'>();
    objects.cqs.set(cq, new CompletionQueue(cqe));
    return { cq, cqe };
  };

  destroyCq = async ({ cq }: VerbsArgs<'destroyCq'>): Promise<void> => {
    const objects = this.opened('destroyCq');
    const queue = this.cqOf(objects, cq, 'destroyCq');
    if (queue.users > 0) throw new VrdmaError('BUSY', 'destroyCq: a queue pair reports to it');
    queue.destroy();
    objects.cqs.delete(cq);
  };

  createQp = async (args: VerbsArgs<'createQp'>): Promise<VerbsResult<'createQp'>> => {
    const objects = this.opened('createQp');
    this.pdOf(objects, args.pd, 'createQp');
    const sendCq = this.cqOf(objects, args.sendCq, 'createQp');
    const recvCq = this.cqOf(objects, args.recvCq, 'createQp');
    const maxSendWr = args.maxSendWr ?? 64;
    const maxRecvWr = args.maxRecvWr ?? 64;
    if (Math.max(maxSendWr, maxRecvWr) > this.limits.maxQpWr)
      throw new VrdmaError('TOO_LONG', `createQp: at most ${this.limits.maxQpWr} work requests`);
    const { limits } = await this.query();
    if (objects.qps.size >= limits.maxQp)
      throw new VrdmaError('LIMIT_REACHED', `createQp: ${limits.maxQp} queue pairs`);
    // One request is under way at a time; the channel needs room for it alone.
    const { channel } = await this.unimem!.openChannel({ depth: 1 });
    const qp = objects.handle<'Qp'>();
    const qpNum = this.directory.mint();
    const pair = new QueuePair(qp, qpNum, args.pd, sendCq, recvCq, maxSendWr, maxRecvWr, channel, {
      node: this.engine.node,
      unimem: this.unimem!,
      directory: this.directory,
    });
    sendCq.users++;
    recvCq.users++;
    objects.qps.set(qp, pair);
    this.directory.add(this.engine.node, pair);
    return { qp, qpNum };
  };

  modifyQp = async ({ qp, state, remote }: VerbsArgs<'modifyQp'>): Promise<void> => {
    const objects = this.opened('modifyQp');
    const pair = this.qpOf(objects, qp, 'modifyQp');
    if (!pair.canMoveTo(state))
      throw new VrdmaError('BAD_QP_STATE', `modifyQp: ${pair.state} cannot move to ${state}`);
    if (state === 'rtr' && !remote)
      throw new VrdmaError('BAD_QP_STATE', 'modifyQp: RTR needs the remote node and qpNum');
    pair.moveTo(state, remote);
  };

  queryQp = async ({ qp }: VerbsArgs<'queryQp'>): Promise<VerbsResult<'queryQp'>> => {
    const pair = this.qpOf(this.opened('queryQp'), qp, 'queryQp');
    return {
      state: pair.state,
      qpNum: pair.qpNum,
      ...(pair.remote ? { remote: pair.remote } : {}),
    };
  };

  destroyQp = async ({ qp }: VerbsArgs<'destroyQp'>): Promise<void> => {
    const objects = this.opened('destroyQp');
    const pair = this.qpOf(objects, qp, 'destroyQp');
    this.dropQp(objects, pair);
    // Closing the channel cancels a transfer under way, so its regions can be freed next.
    await this.unimem!.closeChannel({ channel: pair.channelHandle });
  };

  // ---- data plane ------------------------------------------------------------------------

  postSend = async (args: VerbsArgs<'postSend'>): Promise<{ post: number }> => {
    const objects = this.opened('postSend');
    const pair = this.qpOf(objects, args.qp, 'postSend');
    const cq = this.cqOf(objects, args.cq, 'postSend');
    if (cq !== pair.sendCq)
      throw new VrdmaError('WRONG_CQ', "postSend: not the queue pair's send CQ");
    if (pair.sends.length >= pair.maxSendWr)
      throw new VrdmaError('QUEUE_FULL', `postSend: ${pair.maxSendWr} sends outstanding`);
    this.checkLength('postSend', args.local);
    const post = cq.reserve('postSend');
    const needsWrite = args.opcode === 'rdma-read';
    const { region, early } = this.localCheck(objects, pair, args.local, args.lkey, needsWrite);
    const wrongState =
      pair.state === 'error'
        ? 'work-request-flushed'
        : pair.state !== 'rts'
          ? 'local-qp-operation-error'
          : undefined;
    const request: WorkRequest = {
      post,
      wrId: args.wrId ?? 0n,
      opcode: args.opcode,
      local: args.local,
      region,
      remoteAddress: args.remoteAddress ?? 0n,
      rkey: args.rkey ?? 0,
      early: wrongState ?? early,
    };
    pair.postSend(request);
    return { post };
  };

  postRecv = async (args: VerbsArgs<'postRecv'>): Promise<{ post: number }> => {
    const objects = this.opened('postRecv');
    const pair = this.qpOf(objects, args.qp, 'postRecv');
    const cq = this.cqOf(objects, args.cq, 'postRecv');
    if (cq !== pair.recvCq)
      throw new VrdmaError('WRONG_CQ', "postRecv: not the queue pair's receive CQ");
    if (pair.recvs.length >= pair.maxRecvWr)
      throw new VrdmaError('QUEUE_FULL', `postRecv: ${pair.maxRecvWr} receives outstanding`);
    this.checkLength('postRecv', args.local);
    const post = cq.reserve('postRecv');
    const { region, early } = this.localCheck(objects, pair, args.local, args.lkey, true);
    const wrongState = pair.state === 'reset' ? 'local-qp-operation-error' : undefined;
    pair.postRecv({
      post,
      wrId: args.wrId ?? 0n,
      opcode: 'recv',
      local: args.local,
      region,
      remoteAddress: 0n,
      rkey: 0,
      early: wrongState ?? early,
    });
    return { post };
  };

  pollCq = async ({ cq, max }: VerbsArgs<'pollCq'>): Promise<VerbsResult<'pollCq'>> => {
    const queue = this.cqOf(this.opened('pollCq'), cq, 'pollCq');
    return { completions: queue.take(max ?? 8) };
  };

  waitCq = async ({ cq, max, timeoutMs }: VerbsArgs<'waitCq'>): Promise<VerbsResult<'waitCq'>> => {
    const queue = this.cqOf(this.opened('waitCq'), cq, 'waitCq');
    return { completions: await queue.wait(max ?? 8, timeoutMs ?? 1000) };
  };

  // ---- session ---------------------------------------------------------------------------

  view(ref: BufferRef): Uint8Array {
    if (!this.unimem) throw new VrdmaError('NOT_OPEN', 'view: the device was never opened');
    return this.unimem.view(ref);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.objects) {
      for (const qp of this.objects.qps.values()) qp.destroy();
      for (const cq of this.objects.cqs.values()) cq.destroy();
      this.objects = undefined;
    }
    await this.unimem?.dispose();
  }

  private dropQp(objects: Objects, pair: QueuePair): void {
    pair.destroy();
    pair.sendCq.users--;
    pair.recvCq.users--;
    objects.qps.delete(pair.handle);
  }

  /**
   * The region a local buffer lies in, or the status its work request ends with: the lkey
   * names no live region of this session, the buffer is outside it, the region is of another
   * protection domain, or it lacks the local write the request needs.
   */
  private localCheck(
    objects: Objects,
    pair: QueuePair,
    local: BufferRef,
    lkey: number,
    needsWrite: boolean,
  ): { region?: MemoryRegion; early?: WcStatus } {
    const region = objects.byLkey.get(lkey);
    const fits =
      region &&
      !region.deregistered &&
      region.pd === pair.pd &&
      contains(region, local) &&
      (!needsWrite || region.access.localWrite);
    return fits ? { region } : { early: 'local-protection-error' };
  }

  private checkLength(fn: string, local: BufferRef): void {
    if (local.length > this.limits.maxMessage)
      throw new VrdmaError(
        'TOO_LONG',
        `${fn}: ${local.length} bytes, at most ${this.limits.maxMessage}`,
      );
  }

  private opened(fn: string): Objects {
    if (!this.objects) throw new VrdmaError('NOT_OPEN', `${fn}: the device is not open`);
    return this.objects;
  }

  private pdOf(objects: Objects, pd: number, fn: string): void {
    if (!objects.pds.has(pd))
      throw new VrdmaError('BAD_HANDLE', `${fn}: no protection domain ${pd}`);
  }

  private cqOf(objects: Objects, cq: number, fn: string): CompletionQueue {
    const queue = objects.cqs.get(cq);
    if (!queue) throw new VrdmaError('BAD_HANDLE', `${fn}: no CQ ${cq}`);
    return queue;
  }

  private qpOf(objects: Objects, qp: number, fn: string): QueuePair {
    const pair = objects.qps.get(qp);
    if (!pair) throw new VrdmaError('BAD_HANDLE', `${fn}: no queue pair ${qp}`);
    return pair;
  }
}

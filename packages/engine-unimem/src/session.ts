import { type BufferRef, type Handle, type Region, regionView, VrdmaError } from '@vrdma/api-spec';
import { createSharedRegion, RangeAllocator } from '@vrdma/memory';
import {
  checkReapArgs,
  checkTransferArgs,
  type DeviceInfo,
  makeGlobalAddress,
  nodeOf,
  type SessionOptions,
  type UnimemApi,
  type UnimemArgs,
  type UnimemResult,
  type UnimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { type Access, BufferRecord } from './buffer-record.js';
import { DEFAULT_BUFFER_ALIGN, limitsOf } from './config.js';
import { DmaChannel } from './dma-channel.js';
import type { UnimemNode } from './node.js';
import { Transfer } from './transfer.js';

/**
 * One tenant of a Unimem node. Its buffers live in `memory` (the region the caller sees);
 * the records of them, its channels and its keys live here. Control calls are checked
 * against the spec's schemas; data-plane calls by hand (no zod in the hot path).
 */
export class UnimemSessionImpl implements UnimemSession {
  private opened = false;
  private nextHandle = 1;
  private readonly memory: Region;
  private readonly allocator: RangeAllocator;
  private readonly buffers = new Map<number, BufferRecord>();
  private readonly channels = new Map<number, DmaChannel>();
  private readonly keys = new Set<number>();
  private lastBuffer: BufferRecord | undefined;

  constructor(
    private readonly device: UnimemNode,
    options: SessionOptions,
    readonly label: string,
    private readonly onDispose: () => void,
  ) {
    this.memory =
      options.memory ?? createSharedRegion(device.newRegionId(), device.config.sessionMemory);
    this.allocator = new RangeAllocator(this.memory.size);
  }

  open = this.control('open', async (): Promise<DeviceInfo> => {
    if (this.opened) throw new VrdmaError('ALREADY_OPEN', `${this.label} is already open`);
    this.opened = true;
    return this.info();
  });

  close = this.control('close', async (): Promise<void> => {
    this.requireOpen();
    this.releaseAll();
  });

  query = this.control('query', async (): Promise<DeviceInfo> => {
    this.requireOpen();
    return this.info();
  });

  alloc = this.control(
    'alloc',
    async ({ size, align }: UnimemArgs<'alloc'>): Promise<UnimemResult<'alloc'>> => {
      this.requireOpen();
      const { alignment } = this.device.config;
      const actual = align ?? Math.max(DEFAULT_BUFFER_ALIGN, alignment);
      if ((actual & (actual - 1)) !== 0 || actual % alignment !== 0) {
        throw new VrdmaError(
          'MISALIGNED',
          `alignment ${actual} is not a power of two multiple of ${alignment}`,
        );
      }
      if (size > this.memory.size)
        throw new VrdmaError('NO_MEMORY', `${size} bytes exceed the region (${this.memory.size})`);
      const offset = this.allocator.allocate(size, actual);
      let nodeOffset: number;
      try {
        nodeOffset = this.device.reserveAddress(size, actual);
      } catch (error) {
        this.allocator.release(offset);
        throw error;
      }
      const handle = this.nextHandle++;
      this.buffers.set(handle, new BufferRecord(handle, this.memory, offset, size, nodeOffset));
      return {
        buffer: handle as Handle<'Buffer'>,
        ref: { region: this.memory.id, offset, length: size },
        address: makeGlobalAddress(this.device.node, nodeOffset),
      };
    },
  );

  free = this.control('free', async ({ buffer }: UnimemArgs<'free'>) => {
    this.requireOpen();
    const record = this.buffer(buffer);
    if (record.busy) throw new VrdmaError('BUSY', `buffer ${buffer} has transfers in flight`);
    this.releaseBuffer(record);
  });

  exportBuffer = this.control(
    'exportBuffer',
    async ({
      buffer,
      access,
    }: UnimemArgs<'exportBuffer'>): Promise<UnimemResult<'exportBuffer'>> => {
      this.requireOpen();
      const record = this.buffer(buffer);
      const { maxKeys } = this.device.config;
      if (this.device.keys.size >= maxKeys)
        throw new VrdmaError('LIMIT_REACHED', `node ${this.device.node} holds ${maxKeys} keys`);
      const { key } = this.device.keys.export(record, access as Access);
      this.keys.add(key);
      return {
        key,
        address: makeGlobalAddress(this.device.node, record.nodeOffset),
        length: record.size,
      };
    },
  );

  revoke = this.control('revoke', async ({ key }: UnimemArgs<'revoke'>) => {
    this.requireOpen();
    if (!this.keys.has(key))
      throw new VrdmaError('BAD_KEY', `key ${key} was not exported by ${this.label}`);
    this.keys.delete(key);
    this.device.keys.revoke(key);
  });

  openChannel = this.control(
    'openChannel',
    async ({ depth }: UnimemArgs<'openChannel'> = {}): Promise<UnimemResult<'openChannel'>> => {
      this.requireOpen();
      const { maxChannels, maxQueueDepth, defaultQueueDepth } = this.device.config;
      if (this.channels.size >= maxChannels)
        throw new VrdmaError('LIMIT_REACHED', `at most ${maxChannels} channels per session`);
      const actual = depth ?? defaultQueueDepth;
      if (actual > maxQueueDepth)
        throw new VrdmaError('TOO_LONG', `depth ${actual} exceeds ${maxQueueDepth}`);
      const handle = this.nextHandle++;
      this.channels.set(handle, new DmaChannel(handle, actual));
      return { channel: handle as Handle<'Channel'>, depth: actual };
    },
  );

  closeChannel = this.control('closeChannel', async ({ channel }: UnimemArgs<'closeChannel'>) => {
    this.requireOpen();
    const ch = this.channel(channel);
    this.channels.delete(channel);
    this.device.dma.cancel(ch.close());
  });

  write = async (args: UnimemArgs<'write'>): Promise<UnimemResult<'write'>> =>
    this.post('write', args);

  read = async (args: UnimemArgs<'read'>): Promise<UnimemResult<'read'>> => this.post('read', args);

  /** A posted write or read taken at once (see EngineSession.postNow): the host's hot path. */
  postNow(fn: string, args: unknown): UnimemResult<'write'> {
    if (fn !== 'write' && fn !== 'read')
      throw new VrdmaError('INTERNAL', `${fn} is not a posted call of Unimem`);
    return this.post(fn, args);
  }

  poll = async (args: UnimemArgs<'poll'>): Promise<UnimemResult<'poll'>> => {
    const { channel, max } = checkReapArgs('poll', args);
    this.requireOpen();
    return { completions: this.channel(channel).take(max) };
  };

  wait = async (args: UnimemArgs<'wait'>): Promise<UnimemResult<'wait'>> => {
    const { channel, max, timeoutMs } = checkReapArgs('wait', args);
    this.requireOpen();
    const ch = this.channel(channel);
    await ch.waitForCompletion(timeoutMs);
    return { completions: ch.take(max) };
  };

  view(ref: BufferRef): Uint8Array {
    if (ref.region !== this.memory.id) {
      throw new VrdmaError(
        'OUT_OF_RANGE',
        `region ${ref.region} is not this session's (${this.memory.id})`,
      );
    }
    try {
      return regionView(this.memory, ref.offset, ref.length);
    } catch (error) {
      throw new VrdmaError('OUT_OF_RANGE', (error as Error).message);
    }
  }

  async dispose(): Promise<void> {
    if (this.opened) this.releaseAll();
    this.onDispose();
  }

  /** What the session holds: what a leak check looks at. */
  get holdings() {
    return {
      buffers: this.buffers.size,
      bytes: this.allocator.bytesInUse,
      channels: this.channels.size,
      keys: this.keys.size,
    };
  }

  private info(): DeviceInfo {
    return {
      node: this.device.node,
      nodes: this.device.reachableNodes(),
      limits: limitsOf(this.device.config),
    };
  }

  /** A control call: arguments checked against the spec's schema, then the body. */
  private control<K extends keyof UnimemApi, R>(
    fn: K,
    body: (args: never) => Promise<R>,
  ): (args?: UnimemArgs<K>) => Promise<R> {
    const schema = unimemSpec.lookup(fn)!.args;
    return async (raw?: UnimemArgs<K>) => {
      const parsed = schema.safeParse(raw ?? {});
      if (!parsed.success)
        throw new VrdmaError('INVALID_ARGUMENT', `${fn}: ${parsed.error.issues[0]?.message}`);
      return body(parsed.data as never);
    };
  }

  /**
   * Queues a transfer, as a NIC takes a descriptor: what the caller's side can know is
   * checked now and fails the call; what only the remote side knows (key, range) is checked
   * by the owner and reported in the completion.
   */
  private post(kind: 'write' | 'read', raw: unknown): UnimemResult<'write'> {
    const args = checkTransferArgs(kind, raw);
    this.requireOpen();
    const channel = this.channel(args.channel);
    const { local, remote } = args;
    const { maxTransfer, alignment } = this.device.config;
    if (local.length > maxTransfer)
      throw new VrdmaError('TOO_LONG', `${local.length} bytes exceed ${maxTransfer}`);
    const buffer = this.bufferHolding(local);
    if (
      alignment > 1 &&
      (local.offset % alignment !== 0 || Number(remote % BigInt(alignment)) !== 0)
    )
      throw new VrdmaError('MISALIGNED', `offsets must be multiples of ${alignment}`);
    const node = nodeOf(remote);
    if (!this.device.fabric.route(node))
      throw new VrdmaError('OUT_OF_RANGE', `node ${node} is not in the cluster`);
    if (!this.device.up) throw new VrdmaError('NODE_DOWN', `node ${this.device.node} is down`);
    if (!this.device.fabric.isUp(node))
      throw new VrdmaError('NODE_DOWN', `node ${node} is not reachable`);
    if (channel.full) {
      throw new VrdmaError(
        'CHANNEL_FULL',
        `channel ${channel.handle} holds ${channel.depth} transfers; reap completions`,
      );
    }
    const view = buffer.region.bytes.subarray(local.offset, local.offset + local.length);
    const transfer = new Transfer(
      channel,
      channel.newTransferId(),
      kind,
      args.fence,
      buffer,
      view,
      remote,
      args.key,
    );
    this.device.dma.submit(transfer);
    return { transfer: transfer.id };
  }

  private requireOpen(): void {
    if (!this.opened) throw new VrdmaError('NOT_OPEN', `${this.label}: call open first`);
  }

  private buffer(handle: number): BufferRecord {
    const record = this.buffers.get(handle);
    if (!record)
      throw new VrdmaError('BAD_HANDLE', `buffer ${handle} is not one of ${this.label}'s`);
    return record;
  }

  private channel(handle: number): DmaChannel {
    const channel = this.channels.get(handle);
    if (!channel)
      throw new VrdmaError('BAD_HANDLE', `channel ${handle} is not one of ${this.label}'s`);
    return channel;
  }

  /** The caller's buffer that holds all of `ref`: the engine never trusts a bare reference. */
  private bufferHolding(ref: BufferRef): BufferRecord {
    if (ref.region === this.memory.id) {
      const inside = (r: BufferRecord) =>
        ref.offset >= r.offset && ref.offset + ref.length <= r.offset + r.size;
      const last = this.lastBuffer;
      if (last && this.buffers.get(last.handle) === last && inside(last)) return last;
      for (const record of this.buffers.values()) {
        if (inside(record)) {
          this.lastBuffer = record;
          return record;
        }
      }
    }
    throw new VrdmaError(
      'OUT_OF_RANGE',
      `[${ref.offset}, +${ref.length}) in region ${ref.region} is not inside a buffer of ${this.label}`,
    );
  }

  private releaseBuffer(record: BufferRecord): void {
    for (const key of record.keys) {
      this.keys.delete(key);
      this.device.keys.revoke(key);
    }
    this.buffers.delete(record.handle);
    // A closed session's buffer may still be under a link's DMA: its memory and address are
    // handed out again only once nothing touches it.
    record.releaseWhenIdle(() => {
      this.allocator.release(record.offset);
      this.device.releaseAddress(record.nodeOffset);
    });
  }

  private releaseAll(): void {
    for (const channel of this.channels.values()) this.device.dma.cancel(channel.close());
    this.channels.clear();
    for (const record of [...this.buffers.values()]) this.releaseBuffer(record);
    this.opened = false;
  }
}

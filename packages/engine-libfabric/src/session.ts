import { type BufferRef, type Handle, type Region, regionView, VrdmaError } from '@vrdma/api-spec';
import { RangeAllocator } from '@vrdma/memory';
import {
  checkReapArgs,
  checkTransferArgs,
  type DeviceInfo,
  makeGlobalAddress,
  nodeOf,
  nodeOffsetOf,
  type UnimemApi,
  type UnimemArgs,
  type UnimemResult,
  type UnimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { BufferRecord } from './buffer-record.js';
import { LibfabricChannel } from './channel.js';
import { limitsOf } from './config.js';
import { registrationKey, SLOT_SIZE, splitNodeOffset } from './global-slots.js';
import type { LibfabricNode } from './node.js';
import { Transfer } from './transfer.js';

const DEFAULT_ALIGN = 64;

/**
 * One tenant of a libfabric node. Its buffers live in `memory` (the region the caller sees,
 * the guest's own when remoted), each in a slot of the node's global address space; its keys
 * are libfabric registrations of them.
 */
export class LibfabricSession implements UnimemSession {
  private opened = false;
  private nextHandle = 1;
  private readonly allocator: RangeAllocator;
  private readonly buffers = new Map<number, BufferRecord>();
  private readonly channels = new Map<number, LibfabricChannel>();
  private readonly keys = new Map<number, BufferRecord>();

  constructor(
    private readonly device: LibfabricNode,
    private readonly memory: Region,
    readonly label: string,
    private readonly onDispose: () => void,
  ) {
    this.allocator = new RangeAllocator(memory.size);
  }

  open = this.control('open', async (): Promise<DeviceInfo> => {
    if (this.opened) throw new VrdmaError('ALREADY_OPEN', `${this.label} is already open`);
    this.opened = true;
    return this.info();
  });

  close = this.control('close', async (): Promise<void> => {
    this.requireOpen();
    await this.releaseAll();
  });

  query = this.control('query', async (): Promise<DeviceInfo> => {
    this.requireOpen();
    return this.info();
  });

  alloc = this.control(
    'alloc',
    async ({ size, align }: UnimemArgs<'alloc'>): Promise<UnimemResult<'alloc'>> => {
      this.requireOpen();
      const actual = align ?? DEFAULT_ALIGN;
      if ((actual & (actual - 1)) !== 0)
        throw new VrdmaError('MISALIGNED', `alignment ${actual} is not a power of two`);
      if (size > this.memory.size)
        throw new VrdmaError('NO_MEMORY', `${size} bytes exceed the region (${this.memory.size})`);
      const offset = this.allocator.allocate(size, actual);
      let slot: number;
      try {
        slot = this.device.slots.take();
      } catch (error) {
        this.allocator.release(offset);
        throw error;
      }
      const handle = this.nextHandle++;
      this.buffers.set(handle, new BufferRecord(handle, this.memory, offset, size, slot));
      return {
        buffer: handle as Handle<'Buffer'>,
        ref: { region: this.memory.id, offset, length: size },
        address: makeGlobalAddress(this.device.node, slot * SLOT_SIZE),
      };
    },
  );

  free = this.control('free', async ({ buffer }: UnimemArgs<'free'>) => {
    this.requireOpen();
    const record = this.buffer(buffer);
    if (record.busy) throw new VrdmaError('BUSY', `buffer ${buffer} has transfers in flight`);
    await this.releaseBuffer(record);
  });

  exportBuffer = this.control(
    'exportBuffer',
    async ({
      buffer,
      access,
    }: UnimemArgs<'exportBuffer'>): Promise<UnimemResult<'exportBuffer'>> => {
      this.requireOpen();
      const record = this.buffer(buffer);
      const key = await this.device.exportBuffer(record, access);
      record.keys.add(key);
      this.keys.set(key, record);
      return {
        key,
        address: makeGlobalAddress(this.device.node, record.slot * SLOT_SIZE),
        length: record.size,
      };
    },
  );

  revoke = this.control('revoke', async ({ key }: UnimemArgs<'revoke'>) => {
    this.requireOpen();
    const record = this.keys.get(key);
    if (!record) throw new VrdmaError('BAD_KEY', `key ${key} was not exported by ${this.label}`);
    this.keys.delete(key);
    record.keys.delete(key);
    await this.device.revoke(key);
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
      this.channels.set(handle, new LibfabricChannel(handle, actual, (t) => this.device.start(t)));
      return { channel: handle as Handle<'Channel'>, depth: actual };
    },
  );

  closeChannel = this.control('closeChannel', async ({ channel }: UnimemArgs<'closeChannel'>) => {
    this.requireOpen();
    const ch = this.channel(channel);
    this.channels.delete(channel);
    this.device.cancel(ch.close());
  });

  write = async (args: UnimemArgs<'write'>): Promise<UnimemResult<'write'>> =>
    this.post('write', args);

  read = async (args: UnimemArgs<'read'>): Promise<UnimemResult<'read'>> => this.post('read', args);

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
    if (this.opened) await this.releaseAll();
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
   * Queues a transfer: what the caller's side can know fails the call; the key and the remote
   * range are checked when the channel starts it, and a refusal ends in its completion.
   */
  private post(kind: 'write' | 'read', raw: unknown): UnimemResult<'write'> {
    const args = checkTransferArgs(kind, raw);
    this.requireOpen();
    const channel = this.channel(args.channel);
    const { local, remote } = args;
    const { maxTransfer } = this.device.config;
    if (local.length > maxTransfer)
      throw new VrdmaError('TOO_LONG', `${local.length} bytes exceed ${maxTransfer}`);
    const buffer = this.bufferHolding(local);
    const node = nodeOf(remote);
    if (!this.device.members().includes(node))
      throw new VrdmaError('OUT_OF_RANGE', `node ${node} is not in the cluster`);
    if (!this.device.isUp(node)) throw new VrdmaError('NODE_DOWN', `node ${node} is not reachable`);
    if (channel.full) {
      throw new VrdmaError(
        'CHANNEL_FULL',
        `channel ${channel.handle} holds ${channel.depth} transfers; reap completions`,
      );
    }
    const { slot, within } = splitNodeOffset(nodeOffsetOf(remote));
    const view = buffer.region.bytes.subarray(local.offset, local.offset + local.length);
    const transfer = new Transfer(
      channel.newTransferId(),
      kind,
      args.fence,
      buffer,
      view,
      node,
      within,
      registrationKey(slot, args.key),
      () => channel.finished(),
    );
    channel.add(transfer);
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

  private channel(handle: number): LibfabricChannel {
    const channel = this.channels.get(handle);
    if (!channel)
      throw new VrdmaError('BAD_HANDLE', `channel ${handle} is not one of ${this.label}'s`);
    return channel;
  }

  /** The caller's buffer that holds all of `ref`: the engine never trusts a bare reference. */
  private bufferHolding(ref: BufferRef): BufferRecord {
    if (ref.region === this.memory.id) {
      for (const record of this.buffers.values()) {
        if (ref.offset >= record.offset && ref.offset + ref.length <= record.offset + record.size)
          return record;
      }
    }
    throw new VrdmaError(
      'OUT_OF_RANGE',
      `[${ref.offset}, +${ref.length}) in region ${ref.region} is not inside a buffer of ${this.label}`,
    );
  }

  private async releaseBuffer(record: BufferRecord): Promise<void> {
    this.buffers.delete(record.handle);
    for (const key of [...record.keys]) {
      this.keys.delete(key);
      await this.device.revoke(key);
    }
    record.keys.clear();
    // A buffer libfabric still uses for a canceled transfer is handed out again only after.
    record.releaseWhenIdle(() => {
      this.allocator.release(record.offset);
      this.device.slots.release(record.slot);
    });
  }

  private async releaseAll(): Promise<void> {
    this.opened = false;
    for (const channel of this.channels.values()) this.device.cancel(channel.close());
    this.channels.clear();
    for (const record of [...this.buffers.values()]) await this.releaseBuffer(record);
  }
}

import { type BufferRef, type Handle, type Region, regionView, VrdmaError } from '@vrdma/api-spec';
import { createSharedRegion, RangeAllocator } from '@vrdma/memory';
import {
  type Completion,
  type DeviceInfo,
  type GlobalAddress,
  nodeOf,
  type SessionOptions,
  type UnimemApi,
  type UnimemArgs,
  type UnimemResult,
  type UnimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { Channel } from './channel.js';
import type { MockEngine } from './engine.js';
import { DEFAULT_BUFFER_ALIGN } from './limits.js';
import type { Access, BufferRecord } from './records.js';

/**
 * One tenant of a mock engine. Every call validates its arguments against the Unimem spec
 * (the application may be wrong), logs itself and honours injected faults.
 */
export class MockSession implements UnimemSession {
  private opened = false;
  private nextHandle = 1;
  private readonly memory: Region;
  private readonly allocator: RangeAllocator;
  private readonly buffers = new Map<number, BufferRecord>();
  private readonly channels = new Map<number, Channel>();
  private readonly keys = new Set<number>();

  constructor(
    private readonly engine: MockEngine,
    options: SessionOptions,
    readonly label: string,
  ) {
    const { cluster } = engine;
    this.memory =
      options.memory ?? createSharedRegion(cluster.newRegionId(), cluster.sessionMemory);
    this.allocator = new RangeAllocator(this.memory.size);
  }

  open = this.call('open', async (): Promise<DeviceInfo> => {
    if (this.opened) throw new VrdmaError('ALREADY_OPEN', `${this.label} is already open`);
    this.opened = true;
    return this.info();
  });

  close = this.call('close', async (): Promise<void> => {
    this.requireOpen();
    this.releaseAll();
  });

  query = this.call('query', async (): Promise<DeviceInfo> => {
    this.requireOpen();
    return this.info();
  });

  alloc = this.call('alloc', async ({ size, align }: UnimemArgs<'alloc'>) => {
    this.requireOpen();
    const alignment = align ?? Math.max(DEFAULT_BUFFER_ALIGN, this.limits.alignment);
    if ((alignment & (alignment - 1)) !== 0 || alignment % this.limits.alignment !== 0) {
      throw new VrdmaError(
        'MISALIGNED',
        `alignment ${alignment} is not a power of two multiple of ${this.limits.alignment}`,
      );
    }
    const offset = this.allocator.allocate(size, alignment);
    let address: bigint;
    try {
      address = this.cluster.reserveAddress(this.engine.node, size, alignment);
    } catch (error) {
      // No buffer holds the range yet: give it back, or the region shrinks for good.
      this.allocator.release(offset);
      throw error;
    }
    const handle = this.nextHandle++;
    this.buffers.set(handle, {
      handle,
      region: this.memory,
      offset,
      size,
      address,
      inflight: 0,
      keys: new Set(),
    });
    return {
      buffer: handle as Handle<'Buffer'>,
      ref: { region: this.memory.id, offset, length: size },
      address: address as GlobalAddress,
    };
  });

  free = this.call('free', async ({ buffer }: UnimemArgs<'free'>) => {
    this.requireOpen();
    const record = this.buffer(buffer);
    if (record.inflight > 0)
      throw new VrdmaError('BUSY', `buffer ${buffer} has ${record.inflight} transfers in flight`);
    this.releaseBuffer(record);
  });

  exportBuffer = this.call(
    'exportBuffer',
    async ({ buffer, access }: UnimemArgs<'exportBuffer'>) => {
      this.requireOpen();
      const record = this.buffer(buffer);
      const key = this.cluster.exportKey(this.engine.node, record, access as Access);
      this.keys.add(key);
      return { key, address: record.address as GlobalAddress, length: record.size };
    },
  );

  revoke = this.call('revoke', async ({ key }: UnimemArgs<'revoke'>) => {
    this.requireOpen();
    if (!this.keys.has(key))
      throw new VrdmaError('BAD_KEY', `key ${key} was not exported by ${this.label}`);
    this.keys.delete(key);
    this.cluster.revokeKey(this.engine.node, key);
  });

  openChannel = this.call('openChannel', async ({ depth }: UnimemArgs<'openChannel'> = {}) => {
    this.requireOpen();
    const { maxChannels, maxQueueDepth } = this.limits;
    if (this.channels.size >= maxChannels)
      throw new VrdmaError('LIMIT_REACHED', `at most ${maxChannels} channels`);
    const actual = depth ?? Math.min(256, maxQueueDepth);
    if (actual > maxQueueDepth)
      throw new VrdmaError('TOO_LONG', `depth ${actual} exceeds ${maxQueueDepth}`);
    const handle = this.nextHandle++;
    this.channels.set(handle, new Channel(handle, actual));
    return { channel: handle as Handle<'Channel'>, depth: actual };
  });

  closeChannel = this.call('closeChannel', async ({ channel }: UnimemArgs<'closeChannel'>) => {
    this.requireOpen();
    this.channel(channel).close();
    this.channels.delete(channel);
  });

  write = this.call('write', async (args: UnimemArgs<'write'>) => this.post('write', args));

  read = this.call('read', async (args: UnimemArgs<'read'>) => this.post('read', args));

  poll = this.call('poll', async ({ channel, max }: UnimemArgs<'poll'>) => {
    this.requireOpen();
    return { completions: this.channel(channel).take(max ?? 16) };
  });

  wait = this.call('wait', async ({ channel, max, timeoutMs }: UnimemArgs<'wait'>) => {
    this.requireOpen();
    const ch = this.channel(channel);
    await ch.waitForCompletion(timeoutMs ?? 1_000);
    return { completions: ch.take(max ?? 16) };
  });

  view(ref: BufferRef): Uint8Array {
    if (ref.region !== this.memory.id) {
      throw new VrdmaError(
        'OUT_OF_RANGE',
        `region ${ref.region} is not this session's (${this.memory.id})`,
      );
    }
    return regionView(this.memory, ref.offset, ref.length);
  }

  async dispose(): Promise<void> {
    if (this.opened) this.releaseAll();
  }

  /** Bytes and objects this session holds: what a leak check looks at. */
  get holdings() {
    return {
      buffers: this.buffers.size,
      bytes: this.allocator.bytesInUse,
      channels: this.channels.size,
      keys: this.keys.size,
    };
  }

  private get cluster() {
    return this.engine.cluster;
  }

  private get limits() {
    return this.cluster.limits;
  }

  private info(): DeviceInfo {
    return {
      node: this.engine.node,
      nodes: this.cluster.reachableNodes(),
      limits: { ...this.limits },
    };
  }

  /** Wraps an implementation with argument validation, fault injection and the call log. */
  private call<K extends keyof UnimemApi, R>(
    fn: K,
    body: (args: never) => Promise<R>,
  ): (args?: UnimemArgs<K>) => Promise<R> {
    const schema = unimemSpec.lookup(fn)!.args;
    return async (raw?: UnimemArgs<K>) => {
      const log = (outcome: 'ok' | 'error', code?: string) =>
        this.cluster.log.add({ session: this.label, fn, args: raw, outcome, code });
      try {
        const parsed = schema.safeParse(raw ?? {});
        if (!parsed.success)
          throw new VrdmaError('INVALID_ARGUMENT', `${fn}: ${parsed.error.issues[0]?.message}`);
        this.cluster.faults.check(fn);
        const result = await body(parsed.data as never);
        log('ok');
        return result;
      } catch (error) {
        log('error', (error as VrdmaError).code);
        throw error;
      }
    };
  }

  private post(kind: 'write' | 'read', args: UnimemArgs<'write'>): UnimemResult<'write'> {
    this.requireOpen();
    const channel = this.channel(args.channel);
    const { local, remote, key } = args;
    const { maxTransfer, alignment } = this.limits;
    if (local.length > maxTransfer)
      throw new VrdmaError('TOO_LONG', `${local.length} bytes exceed ${maxTransfer}`);
    const buffer = this.bufferHolding(local);
    if (local.offset % alignment !== 0 || Number(remote % BigInt(alignment)) !== 0) {
      throw new VrdmaError('MISALIGNED', `offsets must be multiples of ${alignment}`);
    }
    if (channel.outstanding >= channel.depth) {
      throw new VrdmaError(
        'CHANNEL_FULL',
        `channel ${channel.handle} holds ${channel.depth} transfers; reap completions`,
      );
    }
    const localView = regionView(buffer.region, local.offset, local.length);
    if (!this.cluster.hasNode(nodeOf(remote))) {
      throw new VrdmaError('OUT_OF_RANGE', `node ${nodeOf(remote)} is not in the cluster`);
    }
    const target = this.cluster.resolveRemote(remote, key, kind, local.length);
    const transfer = channel.newTransferId();
    const held = target.ok ? [buffer, target.grant.buffer] : [buffer];
    for (const b of held) b.inflight += 1;

    const finish = (status: Completion['status'], bytes: number) => {
      for (const b of held) b.inflight -= 1;
      return { transfer, status, bytes };
    };
    const run = () => {
      if (!target.ok) return channel.complete(finish(target.status, 0));
      if (!this.cluster.isUp(this.engine.node) || !this.cluster.isUp(nodeOf(remote))) {
        return channel.complete(finish('node-down', 0));
      }
      if (kind === 'write') target.view.set(localView);
      else localView.set(target.view);
      channel.complete(finish('ok', local.length));
    };
    const delay = this.cluster.faults.completionDelayMs;
    if (delay > 0) channel.schedule(delay, run, () => finish('canceled', 0));
    else run();
    return { transfer };
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

  private channel(handle: number): Channel {
    const channel = this.channels.get(handle);
    if (!channel)
      throw new VrdmaError('BAD_HANDLE', `channel ${handle} is not one of ${this.label}'s`);
    return channel;
  }

  /** The caller's buffer that holds all of `ref`: the host never trusts a bare reference. */
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

  private releaseBuffer(record: BufferRecord): void {
    for (const key of record.keys) {
      this.keys.delete(key);
      this.cluster.revokeKey(this.engine.node, key);
    }
    this.allocator.release(record.offset);
    this.buffers.delete(record.handle);
  }

  private releaseAll(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    for (const record of this.buffers.values()) this.releaseBuffer(record);
    this.opened = false;
  }
}

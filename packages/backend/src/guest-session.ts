import { type ImplOf, type Region, VrdmaError } from '@vrdma/api-spec';
import type { Completion, UnimemSession, UnimemSpec } from '@vrdma/unimem-api';
import type { Quotas } from './config.js';
import type { FairScheduler } from './fair-scheduler.js';
import { CrossGuestAttempt, type HandleKind, type HandleTable } from './handle-table.js';
import { Ledger } from './ledger.js';
import type { GuestMetrics } from './metrics.js';

type Impl = ImplOf<UnimemSpec>;
type Args<K extends keyof Impl> = Parameters<Impl[K]>[0];

/** What a guest session needs from its host. */
export interface GuestContext {
  readonly id: number;
  readonly label: string;
  readonly memory: Region;
  readonly quotas: Quotas;
  readonly handles: HandleTable;
  readonly scheduler: FairScheduler;
  readonly metrics: GuestMetrics;
  /** Keys exported by any guest of this host, with their owner: to tell a probe from a typo. */
  readonly keyOwners: Map<number, number>;
  reportViolation(kind: 'isolation' | 'quota', message: string): void;
}

/**
 * One guest as the host serves it: the Unimem API in front of the guest's engine session,
 * with the host's own handles (so a guest can name only its own objects), its ledger, its
 * quotas and its place in the fair scheduler. Every refusal is a typed error; every
 * cross-guest attempt is also reported.
 */
export class GuestSession implements Impl {
  readonly ledger = new Ledger();
  private closed = false;

  constructor(
    private readonly guest: GuestContext,
    private readonly engine: UnimemSession,
  ) {}

  open = () => this.engine.open();

  close = async () => {
    await this.engine.close();
    this.forgetEverything();
  };

  query = () => this.engine.query();

  alloc = async ({ size, align }: Args<'alloc'>) => {
    const { quotas } = this.guest;
    this.requireQuota('buffers', this.ledger.buffers.size + 1 <= quotas.buffers);
    this.requireQuota('bytes', this.ledger.bytes + size <= quotas.bytes);
    const result = await this.engine.alloc({ size, align });
    const buffer = this.guest.handles.mint(this.guest.id, 'Buffer', result.buffer);
    this.ledger.addBuffer(buffer, size);
    return { ...result, buffer: buffer as typeof result.buffer };
  };

  free = async ({ buffer }: Args<'free'>) => {
    const engineBuffer = this.resolve('Buffer', buffer);
    await this.engine.free({ buffer: engineBuffer as typeof buffer });
    for (const key of this.ledger.buffers.get(buffer)?.keys ?? []) this.guest.keyOwners.delete(key);
    this.ledger.removeBuffer(buffer);
    this.guest.handles.release(buffer);
  };

  exportBuffer = async ({ buffer, access }: Args<'exportBuffer'>) => {
    const engineBuffer = this.resolve('Buffer', buffer);
    this.requireQuota('keys', this.ledger.keys.size + 1 <= this.guest.quotas.keys);
    const result = await this.engine.exportBuffer({
      buffer: engineBuffer as typeof buffer,
      access,
    });
    this.ledger.addKey(result.key, buffer);
    this.guest.keyOwners.set(result.key, this.guest.id);
    return result;
  };

  revoke = async ({ key }: Args<'revoke'>) => {
    if (!this.ledger.keys.has(key)) {
      const owner = this.guest.keyOwners.get(key);
      if (owner !== undefined && owner !== this.guest.id) {
        this.guest.reportViolation('isolation', `tried to revoke key ${key} of guest ${owner}`);
      }
      throw new VrdmaError('BAD_KEY', `key ${key} was not exported by you`);
    }
    await this.engine.revoke({ key });
    this.ledger.removeKey(key);
    this.guest.keyOwners.delete(key);
  };

  openChannel = async ({ depth }: Args<'openChannel'>) => {
    this.requireQuota('channels', this.ledger.channels.size + 1 <= this.guest.quotas.channels);
    const result = await this.engine.openChannel({ depth });
    const channel = this.guest.handles.mint(this.guest.id, 'Channel', result.channel);
    this.ledger.channels.set(channel, 0);
    return { ...result, channel: channel as typeof result.channel };
  };

  closeChannel = async ({ channel }: Args<'closeChannel'>) => {
    const engineChannel = this.resolve('Channel', channel);
    await this.engine.closeChannel({ channel: engineChannel as typeof channel });
    this.ledger.channels.delete(channel);
    this.guest.handles.release(channel);
  };

  write = (args: Args<'write'>) => this.post('write', args);

  read = (args: Args<'read'>) => this.post('read', args);

  poll = async ({ channel, max }: Args<'poll'>) => {
    const engineChannel = this.resolve('Channel', channel);
    return this.reaped(
      channel,
      await this.engine.poll({ channel: engineChannel as typeof channel, max }),
    );
  };

  wait = async ({ channel, max, timeoutMs }: Args<'wait'>) => {
    const engineChannel = this.resolve('Channel', channel);
    return this.reaped(
      channel,
      await this.engine.wait({ channel: engineChannel as typeof channel, max, timeoutMs }),
    );
  };

  /** Releases everything the guest holds, whatever state it left things in. Idempotent. */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.dispose();
    this.forgetEverything();
  }

  private async post(kind: 'write' | 'read', args: Args<'write'>) {
    const engineChannel = this.resolve('Channel', args.channel);
    if (args.local.region !== this.guest.memory.id) {
      this.guest.reportViolation(
        'isolation',
        `named region ${args.local.region}, which is not its own`,
      );
      throw new VrdmaError('OUT_OF_RANGE', `region ${args.local.region} is not yours`);
    }
    this.requireQuota('inflight', this.ledger.inflight + 1 <= this.guest.quotas.inflight);
    const request = { ...args, channel: engineChannel as typeof args.channel };
    const result = await this.guest.scheduler.run(this.guest.id, args.local.length, () =>
      this.engine[kind](request),
    );
    if (this.ledger.channels.has(args.channel)) {
      this.ledger.channels.set(args.channel, this.ledger.channels.get(args.channel)! + 1);
    }
    return result;
  }

  private reaped(channel: number, result: { completions: Completion[] }) {
    const held = this.ledger.channels.get(channel);
    if (held !== undefined)
      this.ledger.channels.set(channel, Math.max(0, held - result.completions.length));
    for (const c of result.completions) this.guest.metrics.bytesMoved += c.bytes;
    return result;
  }

  private resolve(kind: HandleKind, handle: number): number {
    try {
      return this.guest.handles.resolve(this.guest.id, kind, handle);
    } catch (error) {
      if (error instanceof CrossGuestAttempt) {
        this.guest.reportViolation(
          'isolation',
          `named ${kind.toLowerCase()} ${handle} of guest ${error.owner}`,
        );
      }
      throw error;
    }
  }

  private requireQuota(what: keyof Quotas, ok: boolean): void {
    if (ok) return;
    const message = `quota of ${this.guest.quotas[what]} ${what} reached`;
    this.guest.reportViolation('quota', message);
    throw new VrdmaError('QUOTA_EXCEEDED', message);
  }

  private forgetEverything(): void {
    for (const key of this.ledger.keys.keys()) this.guest.keyOwners.delete(key);
    this.guest.handles.releaseGuest(this.guest.id);
    this.ledger.clear();
  }
}

import {
  createCodec,
  createDispatcher,
  type Dispatcher,
  peekFrameHeader,
  type Region,
  type ServerTransport,
  sessionSpec,
  VrdmaError,
} from '@vrdma/api-spec';
import { type UnimemSession, unimemSpec } from '@vrdma/unimem-api';
import type { FlowStats } from './fair-scheduler.js';
import type { GuestContext } from './guest-session.js';
import { GuestSession } from './guest-session.js';
import type { LedgerSnapshot } from './ledger.js';
import { GuestMetrics, type GuestMetricsSnapshot } from './metrics.js';
import { createHandshake } from './session-handshake.js';

/** A guest as its transports deliver it to the host. */
export interface GuestConnection {
  /** A name for logs and weights; defaults to guest-<id>. */
  label?: string;
  /** Control plane (virtio): session calls and control-plane API calls. */
  control: ServerTransport;
  /** Data plane (shared-memory ring): data-plane API calls. */
  data: ServerTransport;
  /** The guest's shared region: its buffers are allocated there, and only there. */
  memory: Region;
  /** Overrides the weight the config gives this label. */
  weight?: number;
}

export interface GuestInfo {
  id: number;
  label: string;
  ledger: LedgerSnapshot;
  metrics: GuestMetricsSnapshot;
}

export interface DepartedGuest extends GuestInfo {
  reason: string;
}

export interface ServedGuestOptions {
  context: Omit<GuestContext, 'metrics'>;
  connection: GuestConnection;
  engine: UnimemSession;
  /** What the fair scheduler has given this guest so far (live). */
  scheduled: Readonly<FlowStats>;
  hostName: string;
  leaseMs: number;
  /** Last words: what the guest held once cleanup finished (should be nothing). */
  onDeparted(record: DepartedGuest): void;
  onCleanupFailure(error: unknown): void;
}

/**
 * One attached guest, from its hello to its cleanup: serves its two transports (session calls
 * and API calls on the control plane, API calls on the data plane), refuses API calls before
 * hello, times every call, and releases everything it holds when it leaves, whatever the cause.
 */
export class ServedGuest {
  readonly metrics = new GuestMetrics();
  readonly departed: Promise<DepartedGuest>;
  lastSeen = Date.now();
  private readonly session: GuestSession;
  private readonly api: Dispatcher;
  private readonly handshake: Dispatcher;
  private readonly codec = createCodec(unimemSpec);
  private greeted = false;
  private leaving = false;
  private settle!: (record: DepartedGuest) => void;

  constructor(private readonly options: ServedGuestOptions) {
    const { context, connection } = options;
    this.departed = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.session = new GuestSession({ ...context, metrics: this.metrics }, options.engine);
    this.api = createDispatcher(unimemSpec, this.session, {
      onFailure: ({ error }) => this.metrics.recordError(error.code),
    });
    this.handshake = createHandshake({
      host: options.hostName,
      guest: context.id,
      leaseMs: options.leaseMs,
      onGreeted: () => {
        this.greeted = true;
      },
      onGoodbye: () => void this.detach(new VrdmaError('DISCONNECTED', 'the guest said goodbye')),
    });
    connection.control.serve((frame) => {
      if (peekFrameHeader(frame)?.fingerprint32 === sessionSpec.fingerprint32) {
        this.lastSeen = Date.now();
        return this.handshake.handle(frame);
      }
      return this.serveApi(frame);
    });
    connection.data.serve((frame) => this.serveApi(frame));
    connection.control.onDisconnect((reason) => void this.detach(reason));
    connection.data.onDisconnect((reason) => void this.detach(reason));
  }

  get id(): number {
    return this.options.context.id;
  }

  get label(): string {
    return this.options.context.label;
  }

  info(): GuestInfo {
    const { control, data } = this.options.connection;
    return {
      id: this.id,
      label: this.label,
      ledger: this.session.ledger.snapshot(),
      metrics: this.metrics.snapshot(
        {
          control: { messages: control.metrics.messages, doorbells: control.metrics.doorbells },
          data: { messages: data.metrics.messages, doorbells: data.metrics.doorbells },
        },
        this.options.scheduled,
      ),
    };
  }

  /** Releases everything of the guest and closes its transports; once, whatever the cause. */
  async detach(reason: VrdmaError): Promise<void> {
    if (this.leaving) return this.departed.then(() => undefined);
    this.leaving = true;
    this.options.context.scheduler.removeFlow(this.id, reason);
    try {
      await this.session.dispose();
    } catch (error) {
      this.options.onCleanupFailure(error);
    }
    const { control, data } = this.options.connection;
    await Promise.allSettled([control.close(), data.close()]);
    const record: DepartedGuest = { ...this.info(), reason: reason.message };
    this.options.onDeparted(record);
    this.settle(record);
  }

  private async serveApi(frame: Uint8Array): Promise<Uint8Array> {
    this.lastSeen = Date.now();
    const header = peekFrameHeader(frame);
    if (!this.greeted) {
      const refusal = new VrdmaError('TRANSPORT', 'say hello before any other call');
      this.metrics.recordError(refusal.code);
      return this.codec.encodeError(header?.fnId ?? 0, header?.callId ?? 0, refusal);
    }
    const started = performance.now();
    const reply = await this.api.handle(frame);
    const fn = header ? unimemSpec.table[header.fnId - 1] : undefined;
    this.metrics.recordCall(fn?.name ?? 'unknown', (performance.now() - started) * 1000);
    return reply;
  }
}

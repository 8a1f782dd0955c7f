import {
  type ApiSpec,
  createCodec,
  createDispatcher,
  type Dispatcher,
  type EngineSession,
  FrameKind,
  NO_REPLY,
  peekFrameHeader,
  peekFrameKind,
  type Region,
  type ServerTransport,
  sessionSpec,
  VrdmaError,
} from '@vrdma/api-spec';
import type { AuditLog } from './audit-log.js';
import type { CapabilityOwners } from './capability-owners.js';
import type { HostConfig } from './config.js';
import type { FairScheduler, FlowStats } from './fair-scheduler.js';
import { GuestObjects, type Holdings } from './guest-objects.js';
import type { HandleTable } from './handle-table.js';
import { HostQueues } from './host-queues.js';
import {
  chain,
  type GuestIdentity,
  type HostInterceptor,
  isPending,
  type SyncHandler,
  userInterceptor,
} from './interceptor.js';
import { audit } from './interceptors/audit.js';
import { DeniedAccess } from './interceptors/denied-access.js';
import { fairness } from './interceptors/fairness.js';
import { isolation } from './interceptors/isolation.js';
import { lease } from './interceptors/lease.js';
import { metrics } from './interceptors/metrics.js';
import { queueLifetimes } from './interceptors/queue-lifetimes.js';
import { QuotaState, quotas } from './interceptors/quotas.js';
import { GuestMetrics, type GuestMetricsSnapshot } from './metrics.js';
import type { Service } from './service.js';
import type { ServiceRegistry } from './service-registry.js';
import { createHandshake, type Hello } from './session-handshake.js';
import type { TableShare } from './table-shares.js';

/** A guest as its transports deliver it to the host. */
export interface GuestConnection {
  /** A name for logs and weights; defaults to guest-<id>. */
  label?: string;
  /** Control plane (virtio): the session calls, and control-plane API calls. */
  control: ServerTransport;
  /** Data plane (shared-memory ring): data-plane API calls; needed by APIs that have them. */
  data?: ServerTransport;
  /** The guest's shared memory: its buffers live there, and only there. Needed by APIs with buffers. */
  memory?: Region;
  /** Overrides the weight the config gives this label (a socket guest's: what its token earned). */
  weight?: number;
}

/** What a guest holds on the host: all of it is released when the guest goes. */
export interface LedgerSnapshot extends Holdings {
  /** Calls being served. */
  calls: number;
  /** Bytes of the guest's shared memory the host holds mapped (0 once it left). */
  memory: number;
}

export interface GuestInfo {
  id: number;
  label: string;
  /** Its scheduling weight. */
  weight: number;
  /** The API the guest said hello for (undefined before its hello). */
  api?: string;
  ledger: LedgerSnapshot;
  metrics: GuestMetricsSnapshot;
}

export interface DepartedGuest extends GuestInfo {
  reason: string;
}

/** What every guest of one host shares. */
export interface HostContext {
  readonly config: HostConfig;
  readonly services: ServiceRegistry;
  readonly handles: HandleTable;
  capabilitiesOf(service: Service): CapabilityOwners;
  /** Each guest's share of the service's engine tables that all its tenants share. */
  sharesOf(service: Service): ReadonlyMap<string, TableShare>;
  readonly scheduler: FairScheduler;
  readonly audit: AuditLog;
  readonly interceptors: readonly HostInterceptor[];
}

export interface ServedGuestOptions {
  id: number;
  connection: GuestConnection;
  host: HostContext;
  /** Last words: what the guest held once cleanup finished (should be nothing). */
  onDeparted(record: DepartedGuest): void;
  onCleanupFailure(error: unknown): void;
}

/** A guest's state once its hello named the API it speaks. */
interface Greeted {
  service: Service;
  session: EngineSession;
  objects: GuestObjects;
  quota: QuotaState;
  scheduled: Readonly<FlowStats>;
  api: Dispatcher;
  /** The same API for posted frames: calls marked posted, outcomes to the completion queues. */
  posts: Dispatcher;
  queues: HostQueues;
  access: DeniedAccess;
}

const preHelloCodec = createCodec(sessionSpec);
const NOTHING_HELD: Holdings = { held: {}, bytes: 0 };

/**
 * One attached guest, from its hello to its cleanup: routes it to the API it names, opens its
 * engine session, serves its calls through the host's interceptors, and releases everything it
 * holds when it leaves, whatever the cause: in the spec's release order, then the session.
 */
export class ServedGuest {
  readonly metrics = new GuestMetrics();
  readonly departed: Promise<DepartedGuest>;
  lastSeen = Date.now();
  private readonly identity: GuestIdentity;
  private greeted: Greeted | undefined;
  private leaving = false;
  /** Set when the guest said goodbye: the reason it left, whoever notices its going first. */
  private goodbye: VrdmaError | undefined;
  /** Set once the guest's objects are released and the host dropped its memory. */
  private released = false;
  private settle!: (record: DepartedGuest) => void;

  constructor(private readonly options: ServedGuestOptions) {
    const { connection, host } = options;
    this.identity = { id: options.id, label: connection.label ?? `guest-${options.id}` };
    this.departed = new Promise((resolve) => {
      this.settle = resolve;
    });
    const handshake = createHandshake({
      host: host.config.name,
      guest: options.id,
      leaseMs: host.config.leaseMs,
      onHello: (hello) => this.greet(hello),
      // Completion queues need a ring to write completions into.
      grants: (feature) => feature !== 'queues' || connection.data?.push !== undefined,
      onPing: () => this.touch(),
      onGoodbye: () => {
        // Known now, so that it is why the guest left whatever the host sees next (the guest
        // resetting its device, its socket closing) before the detach below runs.
        this.goodbye ??= new VrdmaError('DISCONNECTED', 'the guest said goodbye');
        // The detach waits for the reply to go out first.
        setImmediate(() => void this.detach(this.goodbye!));
      },
    });
    connection.control.serve((frame) =>
      peekFrameHeader(frame)?.fingerprint32 === sessionSpec.fingerprint32
        ? handshake.handle(frame)
        : this.serveApi(frame),
    );
    connection.data?.serve((frame) => this.serveApi(frame));
    connection.control.onDisconnect((reason) => void this.detach(reason));
    connection.data?.onDisconnect((reason) => void this.detach(reason));
  }

  get id(): number {
    return this.identity.id;
  }

  get label(): string {
    return this.identity.label;
  }

  get weight(): number {
    return this.options.connection.weight ?? this.options.host.config.weights[this.label] ?? 1;
  }

  info(): GuestInfo {
    const { control, data } = this.options.connection;
    const greeted = this.greeted;
    return {
      id: this.id,
      label: this.label,
      weight: this.weight,
      api: greeted?.service.spec.name,
      ledger: {
        ...(greeted ? greeted.objects.holdings() : { ...NOTHING_HELD, held: {} }),
        calls: greeted?.quota.inflight ?? 0,
        memory: this.released ? 0 : (this.options.connection.memory?.size ?? 0),
      },
      metrics: this.metrics.snapshot(
        {
          control: { messages: control.metrics.messages, doorbells: control.metrics.doorbells },
          data: { messages: data?.metrics.messages ?? 0, doorbells: data?.metrics.doorbells ?? 0 },
        },
        greeted?.scheduled ?? { bytes: 0, contendedBytes: 0 },
        greeted?.access,
      ),
    };
  }

  /** Releases everything of the guest and closes its transports; once, whatever the cause. */
  async detach(reason: VrdmaError): Promise<void> {
    if (this.leaving) return this.departed.then(() => undefined);
    this.leaving = true;
    this.greeted?.objects.retire();
    this.greeted?.queues.stop();
    this.options.host.scheduler.removeFlow(this.id, reason);
    if (this.greeted) await this.releaseEverything(this.greeted);
    const { control, data } = this.options.connection;
    await Promise.allSettled([control.close(), data?.close()]);
    // The host holds no reference to the guest's memory past this point.
    this.released = true;
    const record: DepartedGuest = { ...this.info(), reason: (this.goodbye ?? reason).message };
    // The record shows anything the engine failed to release; the host's tables keep nothing.
    this.greeted?.objects.forgetAll();
    this.options.onDeparted(record);
    this.settle(record);
  }

  private touch(): void {
    this.lastSeen = Date.now();
  }

  private greet(hello: Hello): void {
    if (this.leaving) throw new VrdmaError('DISCONNECTED', 'the guest is leaving');
    const { host, connection } = this.options;
    const service = host.services.select(hello);
    const { spec } = service;
    if (spec.resources.usesBuffers && !connection.memory)
      throw new VrdmaError(
        'INVALID_ARGUMENT',
        `${spec.name} keeps buffers in shared memory: attach the guest with a memory region`,
      );
    if (spec.table.some((f) => f.plane === 'data') && !connection.data)
      throw new VrdmaError(
        'INVALID_ARGUMENT',
        `${spec.name} has data-plane calls: attach the guest with a data-plane transport`,
      );
    let session: EngineSession;
    try {
      session = service.engine.openSession({ memory: connection.memory, label: this.label });
    } catch (error) {
      throw new VrdmaError('INTERNAL', `the ${spec.name} engine refused a session`, {
        cause: error,
      });
    }
    const objects = new GuestObjects(
      this.identity,
      spec,
      host.handles,
      host.capabilitiesOf(service),
      connection.memory ? [connection.memory] : [],
    );
    const quota = new QuotaState();
    const scheduled = host.scheduler.addFlow(this.id, this.weight);
    const access = new DeniedAccess(
      this.identity,
      spec,
      host.config.deniedAccess,
      host.audit,
      (reason) => void this.detach(reason),
    );
    const codec = createCodec(spec);
    const push = connection.data?.push?.bind(connection.data);
    // The host's own reaping goes through isolation and the denial count only: it is no call
    // of the guest's. Built once: the queues reap on every turn a guest's posts are in flight.
    const reaper = chain<SyncHandler>(
      [isolation(objects), access.interceptor],
      engineCall(session),
    );
    const queues = new HostQueues({
      spec,
      codec,
      push: push ?? (async () => {}),
      maxFrame: connection.data?.maxPushFrame,
      reap: (fn, args) => reaper({ guest: this.identity, spec, fn, args }),
      holds: (kind, handle) => objects.holds(kind, handle),
      finished: (bytes) => host.scheduler.finished(this.id, bytes),
      onOverflow: (reason) => void this.detach(reason),
    });
    // While the engine works on the guest's posts, more are coming: poll, don't sleep.
    connection.data?.whileBusy?.(() => queues.held > 0);
    const handler = chain<SyncHandler>(
      [
        lease(() => this.touch()),
        metrics(this.metrics),
        audit(host.audit),
        ...host.interceptors.map(userInterceptor),
        access.interceptor,
        quotas(host.config.quotas, objects, quota, host.sharesOf(service)),
        queueLifetimes(queues),
        isolation(objects),
        fairness(host.scheduler),
      ],
      engineCall(session),
    );
    this.greeted = {
      service,
      session,
      objects,
      quota,
      scheduled,
      queues,
      access,
      api: createDispatcher(spec, implOf(spec, this.identity, handler, false)),
      posts: createDispatcher(spec, implOf(spec, this.identity, handler, true), {
        // Without a ring to write completions into, a posted call cannot be reported.
        onPosted: (outcome) => (push ? queues.accept(outcome) : queues.unreported++),
      }),
    };
  }

  /** A posted call the engine took at once is answered at once: no promise per call. */
  private serveApi(frame: Uint8Array): Uint8Array | Promise<Uint8Array> {
    if (!this.greeted) {
      const header = peekFrameHeader(frame);
      const refusal = new VrdmaError('TRANSPORT', 'say hello before any other call');
      this.metrics.recordError(refusal.code);
      return preHelloCodec.encodeError(header?.fnId ?? 0, header?.callId ?? 0, refusal);
    }
    if (peekFrameKind(frame) === FrameKind.Post) {
      const posted = this.greeted.posts.post(frame);
      return isPending(posted) ? posted.then(() => NO_REPLY) : NO_REPLY;
    }
    return this.greeted.api.handle(frame);
  }

  /**
   * What the guest holds, released one by one in the spec's order (capabilities, then handles,
   * dependants first), then the whole engine session. A failure is reported and cleanup goes
   * on; what the session's disposal released is forgotten even if a release call failed.
   */
  private async releaseEverything({ session, objects }: Greeted): Promise<void> {
    const calls = session as unknown as Record<string, (args: unknown) => Promise<unknown>>;
    for (const release of objects.pendingReleases()) {
      try {
        await calls[release.fn.name]!(release.args);
        release.forget();
      } catch (error) {
        this.options.onCleanupFailure(error);
      }
    }
    try {
      await session.dispose();
      objects.forgetAll();
    } catch (error) {
      this.options.onCleanupFailure(error);
    }
  }
}

/**
 * The engine's own outcome: its value or throw when it had one at once, else its promise. A
 * post goes to the engine's `postNow` where it has one, so that it costs no promise at all.
 */
function engineCall(session: EngineSession): SyncHandler {
  const calls = session as unknown as Record<string, (args: unknown) => unknown>;
  const postNow = session.postNow?.bind(session);
  return (call) =>
    call.posted && postNow ? postNow(call.fn.name, call.args) : calls[call.fn.name]!(call.args);
}

/** The dispatcher's implementation: every function goes through `handler`. */
function implOf(spec: ApiSpec, guest: GuestIdentity, handler: SyncHandler, posted: boolean) {
  const impl: Record<string, (args: unknown) => unknown> = {};
  for (const fn of spec.table) impl[fn.name] = (args) => handler({ guest, spec, fn, args, posted });
  return impl as never;
}

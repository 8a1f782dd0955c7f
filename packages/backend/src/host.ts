import {
  createCodec,
  createDispatcher,
  FRAME_HEADER_SIZE,
  type Region,
  SESSION_FEATURES,
  type ServerTransport,
  sessionSpec,
  shortFingerprint,
  type UnimemEngine,
  unimemSpec,
  VrdmaError,
} from '@vrdma/api-spec';
import { AuditLog, type AuditRecord } from './audit-log.js';
import { type HostConfig, type HostConfigInput, hostConfigSchema } from './config.js';
import { FairScheduler } from './fair-scheduler.js';
import { GuestSession } from './guest-session.js';
import { HandleTable } from './handle-table.js';
import type { LedgerSnapshot } from './ledger.js';
import { GuestMetrics, type GuestMetricsSnapshot } from './metrics.js';

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

export interface AttachedGuest {
  readonly id: number;
  readonly label: string;
  /** Releases everything of the guest and closes its transports. */
  detach(reason?: VrdmaError): Promise<void>;
  /** Resolves once the guest is gone and cleaned up, whatever the cause. */
  readonly departed: Promise<DepartedGuest>;
}

export interface HostOptions {
  engine: UnimemEngine;
  config?: HostConfigInput;
  /** Receives every audit record as it happens (isolation, quota, attach, detach). */
  onAudit?: (record: AuditRecord) => void;
}

export interface Host {
  readonly config: HostConfig;
  readonly audit: AuditLog;
  attach(connection: GuestConnection): AttachedGuest;
  guests(): GuestInfo[];
  /** The last guests that left, with what they held when cleanup finished (should be nothing). */
  departed(): DepartedGuest[];
  close(): Promise<void>;
}

interface Live {
  info: () => GuestInfo;
  detach: (reason: VrdmaError) => Promise<void>;
  lastSeen: number;
}

const DEPARTED_KEPT = 64;

/**
 * The backend: serves any number of guests on one engine. Each guest gets its own engine
 * session in its own region, behind a GuestSession that owns its handles, ledger and quotas;
 * its data-plane posts go through one fair scheduler shared by all guests.
 */
export function createHost(options: HostOptions): Host {
  const config = hostConfigSchema.parse(options.config ?? {});
  const audit = new AuditLog(config.auditCapacity, options.onAudit);
  const handles = new HandleTable();
  const scheduler = new FairScheduler(config.quantumBytes);
  const keyOwners = new Map<number, number>();
  const live = new Map<number, Live>();
  const gone: DepartedGuest[] = [];
  let nextId = 1;
  let closing = false;

  const leaseTimer =
    config.leaseMs > 0
      ? setInterval(
          () => {
            const now = Date.now();
            for (const guest of live.values()) {
              if (now - guest.lastSeen > config.leaseMs) {
                void guest.detach(
                  new VrdmaError('DISCONNECTED', `guest sent nothing for ${config.leaseMs} ms`),
                );
              }
            }
          },
          Math.max(10, Math.floor(config.leaseMs / 4)),
        )
      : undefined;
  leaseTimer?.unref();

  const attach = (connection: GuestConnection): AttachedGuest => {
    if (closing) throw new VrdmaError('DISCONNECTED', 'the host is shutting down');
    const id = nextId++;
    const label = connection.label ?? `guest-${id}`;
    const metrics = new GuestMetrics();
    const session = new GuestSession(
      {
        id,
        label,
        memory: connection.memory,
        quotas: config.quotas,
        handles,
        scheduler,
        metrics,
        keyOwners,
        reportViolation: (kind, message) => audit.add({ guest: id, label, kind, message }),
      },
      options.engine.openSession({ memory: connection.memory, label }),
    );
    scheduler.addFlow(id, connection.weight ?? config.weights[label] ?? 1);

    const onFailure = ({ error }: { error: VrdmaError }) => metrics.recordError(error.code);
    const api = createDispatcher(unimemSpec, session, { onFailure });
    const codec = createCodec(unimemSpec);
    let greeted = false;
    let departed = false;
    let settle: (value: DepartedGuest) => void = () => {};
    const departedPromise = new Promise<DepartedGuest>((resolve) => {
      settle = resolve;
    });

    const info = (): GuestInfo => ({
      id,
      label,
      ledger: session.ledger.snapshot(),
      metrics: metrics.snapshot({
        control: {
          messages: connection.control.metrics.messages,
          doorbells: connection.control.metrics.doorbells,
        },
        data: {
          messages: connection.data.metrics.messages,
          doorbells: connection.data.metrics.doorbells,
        },
      }),
    });

    const detach = async (reason: VrdmaError) => {
      if (departed) return;
      departed = true;
      live.delete(id);
      scheduler.removeFlow(id, reason);
      try {
        await session.dispose();
      } catch (error) {
        audit.add({
          guest: id,
          label,
          kind: 'detach',
          message: `cleanup failed: ${String(error)}`,
        });
      }
      await Promise.allSettled([connection.control.close(), connection.data.close()]);
      const record: DepartedGuest = { ...info(), reason: reason.message };
      gone.push(record);
      if (gone.length > DEPARTED_KEPT) gone.shift();
      audit.add({ guest: id, label, kind: 'detach', message: reason.message });
      settle(record);
    };

    const sessionDispatcher = createDispatcher(sessionSpec, {
      hello: ({ api: name, version, fingerprint, features }) => {
        if (name !== unimemSpec.name || fingerprint !== unimemSpec.fingerprint) {
          throw new VrdmaError(
            'FINGERPRINT_MISMATCH',
            `guest built against ${name} v${version} (${shortFingerprint(fingerprint)}), host serves ${unimemSpec.name} v${unimemSpec.version} (${shortFingerprint(unimemSpec.fingerprint)})`,
          );
        }
        greeted = true;
        const granted = features.filter((f) => (SESSION_FEATURES as readonly string[]).includes(f));
        return { host: config.name, guest: id, features: granted, leaseMs: config.leaseMs };
      },
      ping: () => undefined,
      goodbye: () => {
        setImmediate(() => void detach(new VrdmaError('DISCONNECTED', 'the guest said goodbye')));
      },
    });

    const guest: Live = { info, detach, lastSeen: Date.now() };

    const serveApi = async (frame: Uint8Array): Promise<Uint8Array> => {
      guest.lastSeen = Date.now();
      if (!greeted)
        return refuse(frame, new VrdmaError('TRANSPORT', 'say hello before any other call'));
      const started = performance.now();
      const reply = await api.handle(frame);
      const fn =
        frame.length >= FRAME_HEADER_SIZE ? unimemSpec.table[readFnId(frame) - 1] : undefined;
      metrics.recordCall(fn?.name ?? 'unknown', (performance.now() - started) * 1000);
      return reply;
    };

    const refuse = (frame: Uint8Array, error: VrdmaError): Uint8Array => {
      metrics.recordError(error.code);
      const ok = frame.length >= FRAME_HEADER_SIZE;
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      return codec.encodeError(
        ok ? view.getUint16(2, true) : 0,
        ok ? view.getUint32(4, true) : 0,
        error,
      );
    };

    connection.control.serve((frame) => {
      if (
        frame.length >= FRAME_HEADER_SIZE &&
        readFingerprint(frame) === sessionSpec.fingerprint32
      ) {
        guest.lastSeen = Date.now();
        return sessionDispatcher.handle(frame);
      }
      return serveApi(frame);
    });
    connection.data.serve(serveApi);
    connection.control.onDisconnect((reason) => void detach(reason));
    connection.data.onDisconnect((reason) => void detach(reason));

    live.set(id, guest);
    audit.add({
      guest: id,
      label,
      kind: 'attach',
      message: `attached with region ${connection.memory.id}`,
    });
    return {
      id,
      label,
      detach: (reason) => detach(reason ?? new VrdmaError('DISCONNECTED', 'detached by the host')),
      departed: departedPromise,
    };
  };

  return {
    config,
    audit,
    attach,
    guests: () => [...live.values()].map((g) => g.info()),
    departed: () => [...gone],
    async close() {
      closing = true;
      if (leaseTimer) clearInterval(leaseTimer);
      const reason = new VrdmaError('DISCONNECTED', 'the host shut down');
      await Promise.all([...live.values()].map((g) => g.detach(reason)));
    },
  };
}

function readFnId(frame: Uint8Array): number {
  return frame[2]! | (frame[3]! << 8);
}

function readFingerprint(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(8, true);
}

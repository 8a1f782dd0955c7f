import { VrdmaError } from '@vrdma/api-spec';
import type { UnimemEngine } from '@vrdma/unimem-api';
import { AuditLog, type AuditRecord } from './audit-log.js';
import { type HostConfig, type HostConfigInput, hostConfigSchema } from './config.js';
import { FairScheduler } from './fair-scheduler.js';
import { HandleTable } from './handle-table.js';
import {
  type DepartedGuest,
  type GuestConnection,
  type GuestInfo,
  ServedGuest,
} from './served-guest.js';

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
  const live = new Map<number, ServedGuest>();
  const gone: DepartedGuest[] = [];
  let nextId = 1;
  let closing = false;

  const leaseTimer =
    config.leaseMs > 0
      ? setInterval(
          () => {
            const silentSince = Date.now() - config.leaseMs;
            for (const guest of live.values()) {
              if (guest.lastSeen < silentSince) {
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
    const scheduled = scheduler.addFlow(id, connection.weight ?? config.weights[label] ?? 1);
    const guest = new ServedGuest({
      context: {
        id,
        label,
        memory: connection.memory,
        quotas: config.quotas,
        handles,
        scheduler,
        keyOwners,
        reportViolation: (kind, message) => audit.add({ guest: id, label, kind, message }),
      },
      connection,
      engine: options.engine.openSession({ memory: connection.memory, label }),
      scheduled,
      hostName: config.name,
      leaseMs: config.leaseMs,
      onDeparted: (record) => {
        live.delete(id);
        gone.push(record);
        if (gone.length > DEPARTED_KEPT) gone.shift();
        audit.add({ guest: id, label, kind: 'detach', message: record.reason });
      },
      onCleanupFailure: (error) =>
        audit.add({
          guest: id,
          label,
          kind: 'detach',
          message: `cleanup failed: ${String(error)}`,
        }),
    });
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
      detach: (reason) =>
        guest.detach(reason ?? new VrdmaError('DISCONNECTED', 'detached by the host')),
      departed: guest.departed,
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

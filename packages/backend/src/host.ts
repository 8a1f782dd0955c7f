import { VrdmaError } from '@vrdma/api-spec';
import { AuditLog, type AuditRecord } from './audit-log.js';
import { CapabilityOwners } from './capability-owners.js';
import { type HostConfig, type HostConfigInput, hostConfigSchema } from './config.js';
import { FairScheduler } from './fair-scheduler.js';
import { HandleTable } from './handle-table.js';
import type { HostInterceptor } from './interceptor.js';
import {
  type DepartedGuest,
  type GuestConnection,
  type GuestInfo,
  type HostContext,
  ServedGuest,
} from './served-guest.js';
import type { Service } from './service.js';
import { ServiceRegistry } from './service-registry.js';
import { tableShares } from './table-shares.js';
import { WeightGrants } from './weight-grants.js';

export interface AttachedGuest {
  readonly id: number;
  readonly label: string;
  /** Releases everything of the guest and closes its transports. */
  detach(reason?: VrdmaError): Promise<void>;
  /** Resolves once the guest is gone and cleaned up, whatever the cause. */
  readonly departed: Promise<DepartedGuest>;
}

export interface HostOptions {
  /** The APIs this host serves, each a spec and the engine that implements it. */
  // biome-ignore lint/suspicious/noExplicitAny: each service pairs its own spec with its engine
  services: readonly Service<any>[];
  config?: HostConfigInput;
  /** Run around every call of every guest, after the host's metrics and audit. */
  interceptors?: readonly HostInterceptor[];
  /** Receives every audit record as it happens (isolation, quota, attach, detach). */
  onAudit?: (record: AuditRecord) => void;
}

export interface Host {
  readonly config: HostConfig;
  readonly audit: AuditLog;
  /** The APIs served, as `name vN (fingerprint)`. */
  readonly serves: string;
  attach(connection: GuestConnection): AttachedGuest;
  /**
   * The scheduling weight a secret token earns (config `weightGrants`): 1 without a token,
   * PERMISSION_DENIED for a token no grant knows.
   */
  weightOf(token: string | undefined): number;
  guests(): GuestInfo[];
  /** The last guests that left, with what they held when cleanup finished (should be nothing). */
  departed(): DepartedGuest[];
  close(): Promise<void>;
}

const DEPARTED_KEPT = 64;

/**
 * The backend: serves any number of guests, each speaking one of the host's APIs, on that
 * API's engine. Everything it enforces comes from the specs: handles, buffer references,
 * capabilities, quotas by kind, cleanup order, the scheduler's costs. No code per API.
 */
export function createHost(options: HostOptions): Host {
  const config = hostConfigSchema.parse(options.config ?? {});
  const services = new ServiceRegistry(options.services);
  const audit = new AuditLog(config.auditCapacity, options.onAudit);
  const owners = new Map<Service, CapabilityOwners>();
  const grants = new WeightGrants(config.weightGrants);
  const shares = new Map(services.all.map((s) => [s, tableShares(s, config.quotas.sharers)]));
  const context: HostContext = {
    config,
    services,
    handles: new HandleTable(),
    capabilitiesOf: (service) => {
      let table = owners.get(service);
      if (!table) {
        table = new CapabilityOwners();
        owners.set(service, table);
      }
      return table;
    },
    sharesOf: (service) => shares.get(service)!,
    // A guest's posts in flight are bounded by its call quota; the scheduler holds no more.
    scheduler: new FairScheduler(config.quantumBytes, {
      maxQueued: config.quotas.calls,
      window: config.engineWindowBytes,
      bytesPerTurn: config.turnBytes,
    }),
    audit,
    interceptors: options.interceptors ?? [],
  };
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
    const guest = new ServedGuest({
      id,
      connection,
      host: context,
      onDeparted: (record) => {
        live.delete(id);
        gone.push(record);
        if (gone.length > DEPARTED_KEPT) gone.shift();
        audit.add({ guest: id, label: record.label, kind: 'detach', message: record.reason });
      },
      onCleanupFailure: (error) =>
        audit.add({
          guest: id,
          label: guest.label,
          kind: 'detach',
          message: `cleanup failed: ${String(error)}`,
        }),
    });
    live.set(id, guest);
    audit.add({
      guest: id,
      label: guest.label,
      kind: 'attach',
      message: connection.memory
        ? `attached with region ${connection.memory.id} (${connection.memory.size} bytes)`
        : 'attached with no shared memory',
    });
    return handleOf(guest);
  };

  return {
    config,
    audit,
    serves: services.describe(),
    attach,
    weightOf: (token) => grants.weightOf(token),
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

/**
 * What `attach` gives its caller, who may keep it long after the guest left (to read
 * `departed`): once the guest is gone the handle lets go of it, and with it of the transports
 * and memory that hold the host's mappings of the guest's memfds. Built out here so that no
 * closure of `attach`'s, which share one scope holding the guest, can pin it.
 */
function handleOf(guest: ServedGuest): AttachedGuest {
  let served: ServedGuest | undefined = guest;
  const { id, label, departed } = guest;
  void departed.then(() => {
    served = undefined;
  });
  return {
    id,
    label,
    detach: (reason) =>
      served
        ? served.detach(reason ?? new VrdmaError('DISCONNECTED', 'detached by the host'))
        : departed.then(() => undefined),
    departed,
  };
}

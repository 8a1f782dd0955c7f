import { shortFingerprint, VrdmaError } from '@vrdma/api-spec';
import type { Service } from './service.js';
import type { Hello } from './session-handshake.js';

/** The APIs a host serves, by name: each guest is routed to the one its hello names. */
export class ServiceRegistry {
  private readonly byName = new Map<string, Service>();

  constructor(services: readonly Service[]) {
    if (services.length === 0) throw new TypeError('a host needs at least one service');
    for (const s of services) {
      if (this.byName.has(s.spec.name))
        throw new TypeError(`two services are named ${s.spec.name}: a host serves an API once`);
      this.byName.set(s.spec.name, s);
    }
  }

  get all(): Service[] {
    return [...this.byName.values()];
  }

  /** The service for a hello: FINGERPRINT_MISMATCH naming what the host serves otherwise. */
  select(hello: Hello): Service {
    const found = this.byName.get(hello.api);
    const asked = `${hello.api} v${hello.version} (${shortFingerprint(hello.fingerprint)})`;
    if (!found)
      throw new VrdmaError(
        'FINGERPRINT_MISMATCH',
        `guest built against ${asked}; this host serves ${this.describe()}`,
      );
    if (found.spec.fingerprint !== hello.fingerprint)
      throw new VrdmaError(
        'FINGERPRINT_MISMATCH',
        `guest built against ${asked}, host serves ${this.describeOne(found)}; rebuild the guest against the host's spec`,
      );
    return found;
  }

  describe(): string {
    return this.all.map((s) => this.describeOne(s)).join(', ');
  }

  private describeOne(s: Service): string {
    return `${s.spec.name} v${s.spec.version} (${shortFingerprint(s.spec.fingerprint)})`;
  }
}

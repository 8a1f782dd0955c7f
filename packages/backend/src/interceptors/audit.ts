import type { AuditLog } from '../audit-log.js';
import { type HostCall, isPending, type SyncInterceptor } from '../interceptor.js';
import { Refusal } from '../refusal.js';

/** Records every refusal (a reach for another guest's object, a quota) in the host's audit log. */
export function audit(log: AuditLog): SyncInterceptor {
  const refused = (call: HostCall, error: unknown): never => {
    if (error instanceof Refusal)
      log.add({
        guest: call.guest.id,
        label: call.guest.label,
        kind: error.kind,
        message: `${call.fn.name}: ${error.message}`,
      });
    throw error;
  };
  return (next) => (call) => {
    let result: unknown;
    try {
      result = next(call);
    } catch (error) {
      refused(call, error);
    }
    if (!isPending(result)) return result;
    return Promise.resolve(result).then(undefined, (error: unknown) => refused(call, error));
  };
}

import type { AuditLog } from '../audit-log.js';
import type { HostInterceptor } from '../interceptor.js';
import { Refusal } from '../refusal.js';

/** Records every refusal (a reach for another guest's object, a quota) in the host's audit log. */
export function audit(log: AuditLog): HostInterceptor {
  return (next) => async (call) => {
    try {
      return await next(call);
    } catch (error) {
      if (error instanceof Refusal)
        log.add({
          guest: call.guest.id,
          label: call.guest.label,
          kind: error.kind,
          message: `${call.fn.name}: ${error.message}`,
        });
      throw error;
    }
  };
}

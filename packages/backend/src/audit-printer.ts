import type { AuditRecord } from './audit-log.js';

export interface AuditPrinterOptions {
  /** Refusal lines a guest may have printed at once (default 10). */
  burst?: number;
  /** Refusal lines a guest gets back per second after its burst (default 1). */
  perSecond?: number;
  /** The line a record prints as (default: `audit: guest <label>: <message>` for refusals). */
  format?: (record: AuditRecord) => string;
  now?: () => number;
}

/** Refusals, which a guest can cause as fast as it can send; attaches and detaches are not. */
const refusal = (record: AuditRecord) => record.kind !== 'attach' && record.kind !== 'detach';

export function formatAuditRecord(record: AuditRecord): string {
  return refusal(record)
    ? `audit: guest ${record.label}: ${record.message}`
    : `${record.kind}: guest ${record.label} (${record.guest}): ${record.message}`;
}

/**
 * An `onAudit` sink that prints, with refusal lines rationed per guest: `burst` at once, then
 * `perSecond`. What it holds back is summarised (`… N more refused calls suppressed`) before the
 * guest's next printed line, or its detach. A guest that floods the host with refused calls
 * thus cannot flood its log; the host's in-memory audit log still keeps every record.
 */
export function auditPrinter(
  print: (line: string) => void,
  options: AuditPrinterOptions = {},
): (record: AuditRecord) => void {
  const burst = options.burst ?? 10;
  const perSecond = options.perSecond ?? 1;
  const format = options.format ?? formatAuditRecord;
  const now = options.now ?? (() => performance.now());
  const guests = new Map<number, { tokens: number; at: number; suppressed: number }>();
  const summarise = (record: AuditRecord, state: { suppressed: number }) => {
    if (state.suppressed === 0) return;
    print(`audit: guest ${record.label}: … ${state.suppressed} more refused calls suppressed`);
    state.suppressed = 0;
  };
  return (record) => {
    if (!refusal(record)) {
      const state = guests.get(record.guest);
      if (state && record.kind === 'detach') {
        summarise(record, state);
        guests.delete(record.guest);
      }
      print(format(record));
      return;
    }
    const at = now();
    let state = guests.get(record.guest);
    if (!state) {
      state = { tokens: burst, at, suppressed: 0 };
      guests.set(record.guest, state);
    }
    state.tokens = Math.min(burst, state.tokens + ((at - state.at) / 1000) * perSecond);
    state.at = at;
    if (state.tokens < 1) {
      state.suppressed += 1;
      return;
    }
    state.tokens -= 1;
    summarise(record, state);
    print(format(record));
  };
}

import type { GuestInfo } from '@vrdma/backend';
import { fetchStats, type StatsSnapshot } from './fetch-stats.js';
import type { Output } from './output.js';

export function formatStats(snapshot: StatsSnapshot): string {
  const lines = [
    'guest                 calls    errors   bytes posted   kicks+irqs   p50 µs   p99 µs   held',
  ];
  for (const g of snapshot.guests) lines.push(guestRow(g, heldBy(g)));
  if (snapshot.guests.length === 0) lines.push('(no guest attached)');
  // A guest that has gone keeps its figures: what it did, why it left, what it left behind.
  if (snapshot.departed.length > 0) {
    lines.push(`departed (${snapshot.departed.length}):`);
    for (const g of snapshot.departed) lines.push(`${guestRow(g, heldBy(g))}   (${g.reason})`);
  }
  const isolation = snapshot.audit.filter((a) => a.kind === 'isolation').length;
  lines.push(`${isolation} isolation refusal(s) in the audit log`);
  return lines.join('\n');
}

function heldBy(g: GuestInfo): string {
  return (
    Object.entries(g.ledger.held)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ') || 'nothing'
  );
}

function guestRow(g: GuestInfo, held: string): string {
  const calls = Object.values(g.metrics.calls).reduce((a, b) => a + b, 0);
  const errors = Object.values(g.metrics.errors).reduce((a, b) => a + b, 0);
  const bells = g.metrics.transports.control.doorbells + g.metrics.transports.data.doorbells;
  return `${`${g.label} (${g.id})`.padEnd(20)} ${String(calls).padStart(7)} ${String(errors).padStart(9)} ${String(g.metrics.scheduled.bytes).padStart(14)} ${String(bells).padStart(12)} ${String(g.metrics.latencyUs.p50).padStart(8)} ${String(g.metrics.latencyUs.p99).padStart(8)}   ${held}`;
}

/** `vrdma stats`: one snapshot, or one every `watch` seconds until interrupted. */
export async function runStats(
  options: { socket: string; watch?: number; json: boolean },
  out: Output,
  rounds = Number.POSITIVE_INFINITY,
): Promise<number> {
  for (let i = 0; i < (options.watch ? rounds : 1); i++) {
    const snapshot = await fetchStats(options.socket);
    out.line(options.json ? JSON.stringify(snapshot) : formatStats(snapshot));
    if (options.watch) await new Promise((resolve) => setTimeout(resolve, options.watch! * 1000));
  }
  return 0;
}

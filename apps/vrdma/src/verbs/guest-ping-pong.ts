import type { PingPongOptions, PingPongResult, PingPongSideResult } from '@vrdma/verbs-api';
import type { VerbsGuest } from './verbs-guests.js';

/**
 * The ping-pong between two guests: `a` runs side A, `b` side B, each on its own remoted
 * device; their out-of-band messages are relayed here, as a socket between them would.
 */
export async function pingPongBetween(
  a: VerbsGuest,
  b: VerbsGuest,
  options: PingPongOptions,
): Promise<PingPongResult> {
  a.onOutOfBand((message) => b.send({ kind: 'oob', message }));
  b.onOutOfBand((message) => a.send({ kind: 'oob', message }));
  a.send({ kind: 'ping-pong', role: 'a', options });
  b.send({ kind: 'ping-pong', role: 'b', options });
  const [left, right] = await Promise.all([resultOf(a), resultOf(b)]);
  return { a: left, b: right };
}

async function resultOf(guest: VerbsGuest): Promise<PingPongSideResult> {
  const report = await guest.next();
  if (report.kind !== 'result')
    throw new Error(`guest ${guest.label}: ${'message' in report ? report.message : report.kind}`);
  return report.result as PingPongSideResult;
}

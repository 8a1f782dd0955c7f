import type { Host } from '@vrdma/backend';
import type { GuestHandle } from '../compose/guest-handle.js';
import type { Holdings } from '../workloads/probe.js';
import type { Target } from '../workloads/workloads.js';
import type { HeldObjects } from './api-profile.js';

/** The byte the demo's round trip writes at `i` for `seed`: what an honest target must hold. */
export function patternByte(i: number, seed: number): number {
  return (i * 31 + seed * 97 + (i >>> 8)) & 0xff;
}

/** What honest guests need of a host: a Unimem service, thread guests, and targets to write to. */
export interface HonestHost {
  readonly host: Host;
  startGuest(kind: 'thread', label: string, memoryBytes: number): Promise<GuestHandle>;
  exportTarget(size: number): Promise<Target & { view: Uint8Array }>;
}

interface Honest {
  guest: GuestHandle;
  target: Target & { view: Uint8Array };
  /** Objects it keeps for the whole run: the hostile guest's favourite victims. */
  holdings: Holdings;
  /** The seed of its last round trip: its target must hold that pattern. */
  seed: number;
  /** What the host says it holds when it is idle. */
  idleLedger: string;
}

/**
 * Guests that mind their own business beside a hostile one: each round trips a pattern to a
 * buffer of its own on another node and reads it back, and keeps a buffer, a key and a channel
 * the hostile guest may try to reach.
 */
export class HonestGuests {
  private constructor(
    private readonly deployment: HonestHost,
    private readonly members: Honest[],
  ) {}

  static async start(deployment: HonestHost, count: number, size: number): Promise<HonestGuests> {
    const members: Honest[] = [];
    for (let i = 0; i < count; i++) {
      const guest = await deployment.startGuest('thread', `honest-${i}`, 1 << 20);
      const target = await deployment.exportTarget(size);
      const held = await guest.run({ kind: 'hold', size: 4096 });
      if (held.kind !== 'hold') throw new Error('an honest guest could not hold its objects');
      members.push({ guest, target, holdings: held.holdings, seed: -1, idleLedger: '' });
    }
    const honest = new HonestGuests(deployment, members);
    await honest.roundTrip(0);
    for (const member of honest.members) member.idleLedger = honest.ledgerOf(member);
    return honest;
  }

  /**
   * What a hostile guest may aim at: each one's handles and memory, and the address of the
   * target whose bytes are checked after every step (with its key, for revoke and guessing).
   */
  get victims(): HeldObjects[] {
    return this.members.map((m) => ({
      ...m.holdings,
      address: m.target.address,
      key: m.target.key,
    }));
  }

  get labels(): string[] {
    return this.members.map((m) => m.guest.label);
  }

  /**
   * Every honest guest completes a round trip with the right bytes, its target holds exactly
   * them, and the host holds for it exactly what it held before. Returns what went wrong.
   */
  async roundTrip(step: number): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(
      this.members.map(async (member, i) => {
        // Its previous bytes are still there: nobody else wrote them.
        if (member.seed >= 0 && !holds(member.target.view, member.seed))
          problems.push(`${member.guest.label}'s target was changed by someone else`);
        const seed = (step * 7 + i) & 0xffff;
        const answer = await member.guest.run({
          kind: 'verify',
          target: member.target,
          size: member.target.length,
          seed,
        });
        if (answer.kind !== 'verify' || !answer.result.written || !answer.result.readBack)
          problems.push(`${member.guest.label}'s round trip lost or changed its bytes`);
        if (!holds(member.target.view, seed))
          problems.push(`${member.guest.label}'s target does not hold what it wrote`);
        member.seed = seed;
        if (member.idleLedger && this.ledgerOf(member) !== member.idleLedger)
          problems.push(
            `the host holds ${this.ledgerOf(member)} for ${member.guest.label}, not ${member.idleLedger}`,
          );
      }),
    );
    return problems;
  }

  private ledgerOf(member: Honest): string {
    const info = this.deployment.host.guests().find((g) => g.label === member.guest.label);
    if (!info) return 'nothing: it is gone';
    return JSON.stringify({ held: info.ledger.held, bytes: info.ledger.bytes });
  }
}

function holds(view: Uint8Array, seed: number): boolean {
  for (let i = 0; i < view.length; i++) if (view[i] !== patternByte(i, seed)) return false;
  return true;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { type AttachSocket, openAttachSocket } from '../compose/attach-socket.js';
import { Deployment } from '../compose/deployment.js';
import {
  type ChurnGuest,
  eventually,
  openDescriptors,
  type Phase,
  residentBytes,
  startChurnGuest,
} from './churn-fleet.js';

/** Where in a guest's life a crash strikes, and how. */
export const CRASH_MOMENTS = [
  'kill-mid-attach',
  'kill-mid-alloc',
  'kill-mid-transfer',
  'kill-at-random',
  'freeze-holding-ring-then-continue',
  'freeze-holding-ring-then-kill',
  'freeze-mid-attach-then-kill',
  'freeze-mid-attach-past-its-timeout',
] as const;
export type CrashMoment = (typeof CRASH_MOMENTS)[number];

export interface CrashOptions {
  rounds: number;
  seed: number;
  /** Guests working beside the victims, all along (default 2). */
  survivors?: number;
  /** The moments of the rounds, in turn (default: drawn from the seed). */
  moments?: readonly CrashMoment[];
  /** Called with one line per round. */
  log?: (line: string) => void;
}

export interface CrashReport {
  rounds: number;
  kills: number;
  freezes: number;
  moments: Record<string, number>;
  /** Every broken promise, with its round; empty when the host kept them all. */
  problems: string[];
  survivorOps: number;
  fds: { baseline: number; end: number };
  rss: { baseline: number; end: number };
}

const PATIENCE_MS = 60_000;

function mulberry(seed: number): (max: number) => number {
  let state = seed >>> 0;
  return (max) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % max) as number;
  };
}

const announceOf: Record<CrashMoment, Phase> = {
  'kill-mid-attach': 'attach',
  'kill-mid-alloc': 'alloc',
  'kill-mid-transfer': 'transfer',
  'kill-at-random': 'none',
  'freeze-holding-ring-then-continue': 'transfer',
  'freeze-holding-ring-then-kill': 'transfer',
  'freeze-mid-attach-then-kill': 'attach',
  'freeze-mid-attach-past-its-timeout': 'attach',
};

/** Longer than the host's attach timeout (5 s by default): the host must hang up on it. */
const PAST_ATTACH_TIMEOUT_MS = 6_500;

/** RSS may grow this much over a campaign (the collector's timing), and no more. */
const RSS_ALLOWANCE = 1.0;

/**
 * Guests in processes of their own, killed (SIGKILL) or frozen (SIGSTOP, then SIGCONT or
 * SIGKILL) at chosen moments of their lives, one per round, while survivors keep working on
 * the same host. After each round: the victim's ledger is empty once it left, the host lists
 * only the survivors, its descriptors are back where they were, and the survivors have lost
 * and corrupted nothing. A frozen guest that is let go on finishes its work intact.
 */
export async function runCrashCampaign(options: CrashOptions): Promise<CrashReport> {
  const random = mulberry(options.seed);
  const log = options.log ?? (() => {});
  const deployment = Deployment.create({ nodes: 2, engine: { sessionMemory: 64 << 20 } });
  let socket: AttachSocket | undefined;
  const everyone: ChurnGuest[] = [];
  const report: CrashReport = {
    rounds: 0,
    kills: 0,
    freezes: 0,
    moments: {},
    problems: [],
    survivorOps: 0,
    fds: { baseline: 0, end: 0 },
    rss: { baseline: 0, end: 0 },
  };
  const start = (label: string, announce: Phase) => {
    const guest = startChurnGuest(socket!, { label, seed: random(0xffff_ffff) + 1, announce });
    everyone.push(guest);
    return guest;
  };
  try {
    socket = await openAttachSocket(deployment.host);
    const survivors = Array.from({ length: options.survivors ?? 2 }, (_, i) =>
      start(`survivor-${i}`, 'none'),
    );
    await Promise.all(survivors.map((s) => s.ready));
    // One guest comes and goes first, so that what the host opens once (and keeps) is counted
    // in the baseline, not as a leak.
    const warmUp = start('warm-up', 'none');
    await warmUp.ready;
    await warmUp.finish(PATIENCE_MS);
    report.problems.push(...(await warmUp.leftovers(PATIENCE_MS)));
    const survivorLabels = survivors.map((s) => s.label).sort();
    const onlySurvivors = () =>
      JSON.stringify(
        deployment.host
          .guests()
          .map((g) => g.label)
          .sort(),
      ) === JSON.stringify(survivorLabels);
    await eventually(onlySurvivors, PATIENCE_MS);
    report.fds.baseline = openDescriptors();
    report.rss.baseline = residentBytes();

    for (let round = 0; round < options.rounds; round++) {
      const moment =
        options.moments?.[round % options.moments.length] ??
        CRASH_MOMENTS[random(CRASH_MOMENTS.length)]!;
      report.moments[moment] = (report.moments[moment] ?? 0) + 1;
      const victim = start(`victim-${round}`, announceOf[moment]);
      const before = survivors.map((s) => s.counts.ops);
      if (moment === 'kill-at-random') await sleep(random(2_000));
      else await Promise.race([victim.phase, victim.exited]);
      // A little jitter, so that the blow lands at different points of the same phase.
      await sleep(random(5));
      if (moment.startsWith('kill')) {
        victim.signal('SIGKILL');
        report.kills++;
      } else {
        victim.signal('SIGSTOP');
        report.freezes++;
        // Frozen while the others go on; the host must not wait for it.
        await sleep(moment.endsWith('timeout') ? PAST_ATTACH_TIMEOUT_MS : 100 + random(700));
        if (moment.endsWith('timeout')) {
          // Thawed after the host gave up on it: it either attached in time or is refused.
          victim.signal('SIGCONT');
          await Promise.race([victim.ready, victim.exited]);
          await victim.finish(PATIENCE_MS);
          victim.signal('SIGKILL');
        } else if (moment.endsWith('continue')) {
          victim.signal('SIGCONT');
          await victim.ready;
          const counts = await victim.finish(PATIENCE_MS);
          if (!counts) report.problems.push(`round ${round}: the thawed guest never finished`);
          else if (counts.lost || counts.corrupted)
            report.problems.push(
              `round ${round}: the thawed guest lost ${counts.lost} and corrupted ${counts.corrupted}`,
            );
        } else {
          victim.signal('SIGKILL');
          report.kills++;
        }
      }
      report.problems.push(
        ...(await victim.leftovers(PATIENCE_MS)).map((p) => `round ${round}: ${p}`),
      );
      if (!(await eventually(onlySurvivors, PATIENCE_MS)))
        report.problems.push(`round ${round}: the host still lists a guest that left`);
      if (!(await eventually(() => openDescriptors() <= report.fds.baseline, PATIENCE_MS)))
        report.problems.push(
          `round ${round}: ${openDescriptors()} descriptors open, ${report.fds.baseline} before`,
        );
      // The survivors went on working meanwhile, and lost and corrupted nothing.
      await eventually(() => survivors.every((s, i) => s.counts.ops > before[i]!), PATIENCE_MS);
      for (const [i, s] of survivors.entries()) {
        if (s.counts.ops <= before[i]!)
          report.problems.push(`round ${round}: ${s.label} made no progress`);
        if (s.counts.lost || s.counts.corrupted)
          report.problems.push(
            `round ${round}: ${s.label} lost ${s.counts.lost}, corrupted ${s.counts.corrupted}`,
          );
      }
      report.rounds++;
      log(
        `crash: round ${round} ${moment}: ${report.problems.length} problems so far, ${openDescriptors()} fds, rss ${(residentBytes() / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    for (const s of survivors) {
      const counts = await s.finish(PATIENCE_MS);
      if (!counts) report.problems.push(`${s.label} never finished`);
      else {
        report.survivorOps += counts.ops;
        if (counts.lost || counts.corrupted)
          report.problems.push(`${s.label} lost ${counts.lost}, corrupted ${counts.corrupted}`);
      }
      report.problems.push(...(await s.leftovers(PATIENCE_MS)));
    }
    report.fds.end = openDescriptors();
    report.rss.end = residentBytes();
    if (report.rss.end > report.rss.baseline * (1 + RSS_ALLOWANCE))
      report.problems.push(
        `RSS grew from ${report.rss.baseline} to ${report.rss.end} bytes, beyond noise`,
      );
    return report;
  } finally {
    for (const guest of everyone) guest.signal('SIGKILL');
    await Promise.all(everyone.map((g) => g.exited));
    await deployment.close();
    await socket?.close();
  }
}

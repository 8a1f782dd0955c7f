import { setTimeout as sleep } from 'node:timers/promises';
import { type AttachSocket, openAttachSocket } from '../compose/attach-socket.js';
import { Deployment } from '../compose/deployment.js';
import {
  type ChurnGuest,
  eventually,
  guestMappings,
  openDescriptors,
  residentBytes,
  startChurnGuest,
} from './churn-fleet.js';

export interface SoakOptions {
  minutes: number;
  guests: number;
  seed: number;
  /** Progress, now and then. */
  log?: (line: string) => void;
}

export interface SoakReport {
  ops: number;
  lost: number;
  corrupted: number;
  /** Objects, bytes or calls a departed guest left held, guests never let go, descriptors not returned. */
  leaked: number;
  crashes: number;
  freezes: number;
  restarts: number;
  /** Resident memory with `guests` guests at work, at the start and at the end. */
  rss: { start: number; end: number };
  /** Descriptors with no guest attached, before the first and after the last. */
  fds: { start: number; end: number };
  problems: string[];
}

const PATIENCE_MS = 60_000;

/**
 * `guests` churn guests (every Unimem function, every byte checked) work against one real host
 * for `minutes`, while one of them is every few seconds killed, frozen and continued, frozen
 * and killed, or stopped, and a fresh one started in its place. Counts what the guests did,
 * lost and corrupted, and what the host leaked.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  let state = options.seed >>> 0 || 1;
  const random = (max: number) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return (state >>> 8) % max;
  };
  const log = options.log ?? (() => {});
  const deployment = Deployment.create({ nodes: 2, engine: { sessionMemory: 256 << 20 } });
  let socket: AttachSocket | undefined;
  const everyone: ChurnGuest[] = [];
  const report: SoakReport = {
    ops: 0,
    lost: 0,
    corrupted: 0,
    leaked: 0,
    crashes: 0,
    freezes: 0,
    restarts: 0,
    rss: { start: 0, end: 0 },
    fds: { start: 0, end: 0 },
    problems: [],
  };
  let generation = 0;
  const start = (slot: number) => {
    const guest = startChurnGuest(socket!, {
      label: `g${slot}-${generation++}`,
      seed: random(0xffff_fff) + 1,
      announce: 'none',
    });
    everyone.push(guest);
    return guest;
  };
  /** Adds up a guest that is gone: its last counts, and what the host still held for it. */
  const settle = async (guest: ChurnGuest, counts = guest.counts) => {
    report.ops += counts.ops;
    report.lost += counts.lost;
    report.corrupted += counts.corrupted;
    const left = await guest.leftovers(PATIENCE_MS);
    report.leaked += left.length;
    report.problems.push(...left);
  };
  try {
    socket = await openAttachSocket(deployment.host);
    const warmUp = start(-1);
    await warmUp.ready;
    await warmUp.finish(PATIENCE_MS);
    await warmUp.leftovers(PATIENCE_MS);
    await eventually(() => deployment.host.guests().length === 0, PATIENCE_MS);
    report.fds.start = openDescriptors();

    const slots = Array.from({ length: options.guests }, (_, slot) => start(slot));
    await Promise.all(slots.map((g) => g.ready));
    report.rss.start = residentBytes();
    const deadline = Date.now() + options.minutes * 60_000;
    let lastLog = Date.now();
    while (Date.now() < deadline) {
      await sleep(Math.min(500 + random(3_000), Math.max(0, deadline - Date.now())));
      if (Date.now() >= deadline) break;
      const slot = random(slots.length);
      const guest = slots[slot]!;
      const how = random(4);
      if (how === 1) {
        // Frozen while holding whatever it holds, then let go on: it must finish intact.
        guest.signal('SIGSTOP');
        report.freezes++;
        await sleep(100 + random(1_000));
        guest.signal('SIGCONT');
        continue;
      }
      if (how === 0) {
        guest.signal('SIGKILL');
        report.crashes++;
        await settle(guest);
      } else if (how === 2) {
        guest.signal('SIGSTOP');
        report.freezes++;
        await sleep(100 + random(1_000));
        guest.signal('SIGKILL');
        report.crashes++;
        await settle(guest);
      } else {
        const counts = await guest.finish(PATIENCE_MS);
        if (!counts) report.problems.push(`${guest.label} did not stop when asked`);
        guest.signal('SIGKILL');
        await settle(guest, counts ?? guest.counts);
      }
      slots[slot] = start(slot);
      report.restarts++;
      if (Date.now() - lastLog > 20_000) {
        lastLog = Date.now();
        const running = slots.reduce((sum, g) => sum + g.counts.ops, 0);
        log(
          `soak: ${Math.round((deadline - Date.now()) / 1000)} s to go, ops=${report.ops + running} crashes=${report.crashes} freezes=${report.freezes} lost=${report.lost} corrupted=${report.corrupted} leaked=${report.leaked} rss=${(residentBytes() / 2 ** 20).toFixed(0)}MiB heap=${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)}MiB maps=${guestMappings()} fds=${openDescriptors()}`,
        );
      }
    }
    // A restarted guest may still be starting: the end is measured with all of them at work.
    await Promise.race([Promise.all(slots.map((g) => g.ready)), sleep(PATIENCE_MS)]);
    report.rss.end = residentBytes();
    for (const guest of slots) {
      const counts = await guest.finish(PATIENCE_MS);
      if (!counts) {
        report.problems.push(`${guest.label} did not stop when asked`);
        report.lost++;
      }
      guest.signal('SIGKILL');
      await settle(guest, counts ?? guest.counts);
    }
    if (!(await eventually(() => deployment.host.guests().length === 0, PATIENCE_MS))) {
      const stuck = deployment.host.guests().map((g) => g.label);
      report.problems.push(`the host still lists ${stuck.join(', ')}`);
      report.leaked += stuck.length;
    }
    await eventually(() => openDescriptors() <= report.fds.start, PATIENCE_MS);
    report.fds.end = openDescriptors();
    if (report.fds.end > report.fds.start) {
      report.problems.push(`${report.fds.end - report.fds.start} descriptors not returned`);
      report.leaked += report.fds.end - report.fds.start;
    }
    return report;
  } finally {
    for (const guest of everyone) guest.signal('SIGKILL');
    await Promise.all(everyone.map((g) => g.exited));
    await deployment.close();
    await socket?.close();
  }
}

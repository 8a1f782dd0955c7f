import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AttachedGuest } from '@vrdma/backend';
import type { AttachSocket } from '../compose/attach-socket.js';
import { entryPoint } from '../compose/entry-point.js';
import { departedLeftovers } from './ledger-check.js';

/** Where a churn guest announces it is, so that a campaign can strike there. */
export type Phase = 'attach' | 'alloc' | 'transfer' | 'none';

export interface ChurnCounts {
  ops: number;
  lost: number;
  corrupted: number;
}

/** A churn-guest process (churn-guest.ts), as the host's side of a campaign sees it. */
export class ChurnGuest {
  counts: ChurnCounts = { ops: 0, lost: 0, corrupted: 0 };
  finalCounts?: ChurnCounts;
  readonly ready: Promise<void>;
  readonly phase: Promise<void>;
  readonly exited: Promise<void>;
  /** Resolves with the host's view of the guest once it attached (never, if it died before). */
  readonly attached: Promise<AttachedGuest>;
  private readonly cancelArrival: () => void;
  private finished?: () => void;

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
    arrival: { attached: Promise<AttachedGuest>; cancel(): void },
  ) {
    this.attached = arrival.attached;
    this.cancelArrival = arrival.cancel;
    let onReady!: () => void;
    let onPhase!: () => void;
    this.ready = new Promise((resolve) => {
      onReady = resolve;
    });
    this.phase = new Promise((resolve) => {
      onPhase = resolve;
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdin!.on('error', () => {});
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: { t?: string } & Partial<ChurnCounts>;
      try {
        line = JSON.parse(text);
      } catch {
        return;
      }
      if (line.t === 'phase') onPhase();
      else if (line.t === 'ready') onReady();
      else if (line.t === 'report' || line.t === 'final') {
        this.counts = { ops: line.ops ?? 0, lost: line.lost ?? 0, corrupted: line.corrupted ?? 0 };
        if (line.t === 'final') {
          this.finalCounts = this.counts;
          this.finished?.();
        }
      }
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Asks it to stop after its current round; resolves with its final counts. */
  async finish(timeoutMs: number): Promise<ChurnCounts | undefined> {
    const done = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    this.child.stdin!.end('stop\n');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      this.exited,
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return this.finalCounts;
  }

  /**
   * Once it has exited: what the host still held for it after it left (empty is right), or
   * nothing to say if it died before the host attached it.
   */
  async leftovers(timeoutMs: number): Promise<string[]> {
    await this.exited;
    let timer: NodeJS.Timeout | undefined;
    const attached = await Promise.race([
      this.attached,
      // A guest killed mid-attach may still be attached by the host, a moment later.
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), 2_000);
      }),
    ]);
    clearTimeout(timer);
    this.cancelArrival();
    if (!attached) return [];
    return departedLeftovers(attached.departed, this.label, timeoutMs);
  }
}

/** Starts churn guests on `socket`. */
export function startChurnGuest(
  socket: AttachSocket,
  options: { label: string; seed: number; announce: Phase },
): ChurnGuest {
  const arrival = socket.arrival(options.label);
  const { process: entry } = entryPoint('churn-guest', import.meta.url);
  const child = spawn(
    process.execPath,
    [
      ...entry.execArgv,
      entry.path,
      socket.path,
      options.label,
      String(options.seed),
      options.announce,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  // What a guest says on stderr is kept short and passed on: a lost call says why there.
  child.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk.toString().slice(0, 400));
  });
  return new ChurnGuest(options.label, child, arrival);
}

/** A thread's scheduler statistics: /proc/<pid>/task/<tid>/schedstat. */
const SCHEDSTAT = /^\/proc\/\d+\/task\/\d+\/schedstat$/;

/**
 * Descriptors this process has open now, but for its threads' scheduler statistics files:
 * the pollers' contention guards open their thread's file on their first look, asynchronously,
 * and keep it while any transport of the thread lives (see @vrdma/memory's run-delay). A
 * baseline counted before that open completed made the file look like a leaked descriptor.
 */
export function openDescriptors(): number {
  let open = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // Closed since the listing (or the listing's own descriptor): not open now.
      continue;
    }
    if (!SCHEDSTAT.test(target)) open++;
  }
  return open;
}

/**
 * Mappings of guest regions (memory, virtqueue, ring) this process holds. The host's mappings
 * of a departed guest go only when the garbage collector takes their ArrayBuffers.
 */
export function guestMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes('memfd:vrdma')).length;
}

/** Resident memory of this process, in bytes. */
export function residentBytes(): number {
  const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
  return pages * 4096;
}

/** Waits until `condition` holds, or `timeoutMs` passed; returns whether it held. */
export async function eventually(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

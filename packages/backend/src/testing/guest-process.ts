import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A fixture guest script running in a process of its own. */
export interface GuestProcess {
  readonly child: ChildProcess;
  /** The next JSON line it prints. */
  next(): Promise<Record<string, unknown>>;
  /** Asks it for one more round (a line on its stdin); resolves with the line it answers. */
  again(): Promise<Record<string, unknown>>;
}

/**
 * Runs a fixture script (TypeScript, from source) with `args`. A line that never comes fails
 * with the process's exit code rather than hanging.
 */
export function spawnGuest(script: string, args: readonly string[]): GuestProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@vrdma/source', script, ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  // Writing to a process that died fails with EPIPE; its death is reported by `next` instead.
  child.stdin!.on('error', () => {});
  const lines: string[] = [];
  const waiting: Array<{ resolve(line: string): void; reject(error: Error): void }> = [];
  let exit: Error | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(line);
    else lines.push(line);
  });
  // 'close', not 'exit': every line it printed has been read by then.
  child.once('close', (code, signal) => {
    exit = new Error(`${script} exited (${signal ?? code}) before printing a line`);
    for (const waiter of waiting.splice(0)) waiter.reject(exit);
  });
  const next = async () => {
    const line = lines.shift();
    if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
    if (exit) throw exit;
    return JSON.parse(
      await new Promise<string>((resolve, reject) => waiting.push({ resolve, reject })),
    ) as Record<string, unknown>;
  };
  return {
    child,
    next,
    again: () => {
      child.stdin!.write('\n');
      return next();
    },
  };
}

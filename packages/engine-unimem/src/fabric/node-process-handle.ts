import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NodeCommand } from './test-node-process.js';

const script = fileURLToPath(new URL('./test-node-process.ts', import.meta.url));

/** The parent's side of a node running in a child process (for the fabric tests). */
export class NodeProcess {
  readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout> }
  >();
  readonly exited: Promise<void>;

  constructor(readonly label: string) {
    this.child = fork(script, [], {
      execArgv: ['--import', 'tsx', '--conditions=@vrdma/source'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on(
      'message',
      (m: { id: number; ok: boolean; result?: unknown; error?: string; code?: string }) => {
        const entry = this.waiting.get(m.id);
        if (!entry) return;
        this.waiting.delete(m.id);
        clearTimeout(entry.timer);
        if (m.ok) entry.resolve(m.result);
        else entry.reject(Object.assign(new Error(`${label}: ${m.error}`), { code: m.code }));
      },
    );
    this.child.once('exit', () => {
      for (const [id, entry] of this.waiting) {
        clearTimeout(entry.timer);
        entry.reject(new Error(`${label} exited during request ${id}`));
      }
      this.waiting.clear();
    });
  }

  /** Sends a command; rejects if no answer comes within `timeoutMs`. */
  request<T = unknown>(command: NodeCommand, timeoutMs = 20_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.label}: ${command.op} timed out`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, command });
    });
  }

  /** Kills the process (if still running) and waits for it to exit, bounded. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}

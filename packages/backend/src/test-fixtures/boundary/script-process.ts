// A bundled script of guest-boundary.test.ts running as an unprivileged user, spoken to in
// JSON lines: commands on its stdin, reports on its stdout.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Sandbox, Script } from './sandbox.js';

// biome-ignore lint/suspicious/noExplicitAny: a report is whatever JSON the script printed
type Line = any;

/** Far longer than any answer takes; only bounds the wait for one that never comes. */
const ANSWER_WITHIN_MS = 10_000;

export class ScriptProcess {
  private readonly lines: Line[] = [];
  private readonly waiting = new Set<() => void>();
  private ended: Error | undefined;
  private stderr = '';

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (let end = out.indexOf('\n'); end >= 0; end = out.indexOf('\n')) {
        this.lines.push(JSON.parse(out.slice(0, end)));
        out = out.slice(end + 1);
      }
      this.wake();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    const end = (how: string) => {
      this.ended ??= new Error(`${label} ${how}: ${this.stderr.trim().slice(-500)}`);
      this.wake();
    };
    child.once('error', (error) => end(`did not start (${error.message})`));
    child.once('exit', (code, signal) => end(`ended (${code ?? signal})`));
  }

  /** Runs `script` of the sandbox as `uid` (and its gid), with nothing of this environment. */
  static start(sandbox: Sandbox, uid: number, script: Script, args: string[], label: string) {
    const child = spawn(process.execPath, [sandbox.script(script), ...args], {
      uid,
      gid: uid,
      cwd: sandbox.dir,
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new ScriptProcess(label, child);
  }

  /**
   * The first line not taken yet that `pick` maps to something, taken; a line saying the
   * script failed, its end, or no such line within ANSWER_WITHIN_MS rejects (so a missing
   * answer fails with its name rather than as the whole test's timeout).
   */
  take<T>(pick: (line: Line) => T | undefined, what = 'an answer'): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => settle(() => reject(new Error(`${this.label} gave no ${what}`))),
        ANSWER_WITHIN_MS,
      );
      const look = () => {
        const failed = this.lines.find((line) => line.failed);
        if (failed) return settle(() => reject(new Error(`${this.label}: ${failed.failed}`)));
        for (const [index, line] of this.lines.entries()) {
          const picked = pick(line);
          if (picked === undefined) continue;
          this.lines.splice(index, 1);
          return settle(() => resolve(picked));
        }
        if (this.ended) settle(() => reject(this.ended));
      };
      const settle = (then: () => void) => {
        clearTimeout(timer);
        this.waiting.delete(look);
        then();
      };
      this.waiting.add(look);
      look();
    });
  }

  /** Sends one command and takes the line that answers it. */
  ask<T>(command: unknown, pick: (line: Line) => T | undefined): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    return this.take(pick, `answer to ${JSON.stringify(command)}`);
  }

  /** Ends the process, whatever state it is in. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }

  private wake(): void {
    for (const look of [...this.waiting]) look();
  }
}

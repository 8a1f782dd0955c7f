import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  listenForProcessGuests,
  type ProcessGuestConnection,
  type ProcessHost,
  type ProcessHostOptions,
} from '../process-host.js';
import type { GuestCommand, GuestReport } from './guest-driver.js';
import { TS_EXEC_ARGV } from './ts-worker.js';

export interface TestProcessHost {
  readonly host: ProcessHost;
  /** Starts a guest process that finds the host by its socket path alone. */
  spawnGuest(): Promise<TestProcessGuest>;
  close(): Promise<void>;
}

export interface TestProcessGuest {
  readonly child: ChildProcess;
  readonly connection: ProcessGuestConnection;
  run(command: GuestCommand, onProgress?: (report: GuestReport) => void): Promise<GuestReport>;
}

export async function startTestProcessHost(
  options: ProcessHostOptions = {},
): Promise<TestProcessHost> {
  const dir = mkdtempSync(join(tmpdir(), 'vrdma-shm-'));
  const arrivals: Array<(guest: ProcessGuestConnection) => void> = [];
  const host = await listenForProcessGuests(
    join(dir, 'host.sock'),
    (guest) => arrivals.shift()?.(guest),
    options,
  );
  const children = new Set<ChildProcess>();

  const spawnGuest = async (): Promise<TestProcessGuest> => {
    const connected = new Promise<ProcessGuestConnection>((resolve) => arrivals.push(resolve));
    const child = fork(
      fileURLToPath(new URL('./process-guest-main.ts', import.meta.url)),
      [host.path],
      { execArgv: TS_EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`guest process exited with ${code}`)));
      child.on('message', (m: { ready?: boolean }) => {
        if (m.ready) resolve();
      });
    });
    const connection = await connected;
    const run = (command: GuestCommand, onProgress?: (r: GuestReport) => void) =>
      new Promise<GuestReport>((resolve, reject) => {
        const onMessage = (m: { report?: GuestReport; progress?: GuestReport }) => {
          if (m.progress) onProgress?.(m.progress);
          if (!m.report) return;
          child.off('message', onMessage);
          resolve(m.report);
        };
        child.on('message', onMessage);
        child.once('exit', (code, signal) =>
          reject(new Error(`guest process ended (${code ?? signal})`)),
        );
        child.send(command);
      });
    return { child, connection, run };
  };

  const close = async () => {
    await Promise.all(
      [...children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { host, spawnGuest, close };
}

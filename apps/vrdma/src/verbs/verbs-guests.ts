import { type ChildProcess, spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { type AttachedGuest, attachWorker, type Host } from '@vrdma/backend';
import { Mailbox } from '@vrdma/verbs-api';
import type { AttachSocket } from '../compose/attach-socket.js';
import { entryPoint } from '../compose/entry-point.js';
import type { VerbsGuestCommand, VerbsGuestReport } from './verbs-guest-program.js';

/** A running verbs guest, thread or process, as the composition root drives it. */
export interface VerbsGuest {
  readonly label: string;
  readonly attached: AttachedGuest;
  send(command: VerbsGuestCommand): void;
  /** Its next report other than an out-of-band message. */
  next(): Promise<VerbsGuestReport>;
  /** Where its out-of-band messages go (to the other side of its ping-pong). */
  onOutOfBand(listener: (message: Record<string, unknown>) => void): void;
  /** Ends it abruptly (terminate, SIGKILL): a crash, from the host's point of view. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface VerbsGuestOptions {
  label: string;
  memoryBytes: number;
}

/** Routes a guest's reports: out-of-band messages to their listener, the rest in order. */
function reportRouter() {
  const reports = new Mailbox();
  let oob: (message: Record<string, unknown>) => void = () => {};
  return {
    receive(report: VerbsGuestReport) {
      if (report.kind === 'oob') oob(report.message);
      else reports.put(report);
    },
    next: () => reports.take() as Promise<VerbsGuestReport>,
    onOutOfBand(listener: typeof oob) {
      oob = listener;
    },
    failAll(message: string) {
      reports.put({ kind: 'failed', message });
    },
  };
}

/** A verbs guest in a worker thread, attached to `host` with `attachWorker`; resolves once its device is open. */
export async function startVerbsThreadGuest(
  host: Host,
  options: VerbsGuestOptions,
): Promise<VerbsGuest> {
  const { worker: entry } = entryPoint('verbs-guest-thread', import.meta.url);
  const worker = new Worker(entry.path, {
    execArgv: entry.execArgv,
    workerData: { ...entry.data, label: options.label },
  });
  const attached = attachWorker(host, worker, options);
  const router = reportRouter();
  worker.on('message', (m: VerbsGuestReport) => router.receive(m));
  worker.on('error', (e) => router.failAll(`guest ${options.label} crashed: ${e.message}`));
  worker.on('exit', () => router.failAll(`guest ${options.label} is gone`));
  await ready(router, options.label);
  return {
    label: options.label,
    attached,
    send: (command) => worker.postMessage(command),
    next: router.next,
    onOutOfBand: router.onOutOfBand,
    kill: async () => {
      await worker.terminate();
      await attached.departed;
    },
    stop: async () => {
      await attached.detach();
      await worker.terminate();
    },
  };
}

/** A verbs guest in its own OS process, attaching through `socket` as any guest would. */
export async function startVerbsProcessGuest(
  socket: AttachSocket,
  options: VerbsGuestOptions,
): Promise<VerbsGuest> {
  const arrival = socket.arrival(options.label);
  const { process: entry } = entryPoint('verbs-guest-process', import.meta.url);
  const child: ChildProcess = spawn(
    process.execPath,
    [...entry.execArgv, entry.path, socket.path, options.label, String(options.memoryBytes)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' },
  );
  const router = reportRouter();
  child.on('message', (m: VerbsGuestReport) => router.receive(m));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => router.failAll(`guest ${options.label} is gone`));
  try {
    await ready(router, options.label);
  } catch (error) {
    arrival.cancel();
    throw error;
  }
  const attached = await arrival.attached;
  return {
    label: options.label,
    attached,
    send: (command) => child.send(command),
    next: router.next,
    onOutOfBand: router.onOutOfBand,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      await attached.departed;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await attached.departed;
    },
  };
}

async function ready(router: ReturnType<typeof reportRouter>, label: string): Promise<void> {
  const first = await router.next();
  if (first.kind !== 'ready')
    throw new Error(
      `guest ${label} did not start: ${'message' in first ? first.message : first.kind}`,
    );
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmMemory } from '@vrdma/backend';
import { VRDMA_PORT_NAME } from '@vrdma/frontend';
import type { GuestImage } from './guest-image.js';

export interface BootVmOptions {
  name: string;
  qemu: string;
  image: GuestImage;
  /** The VM's shared-memory device; QEMU gets its descriptor as fd 3. */
  memory: VmMemory;
  /** Words for the guest program, on the kernel command line as vrdma.<key>=<value>. */
  args: Record<string, string | number>;
  /** Megabytes of guest RAM: the initramfs unpacks into it (default 768). */
  ramMiB?: number;
  /** Every line the VM prints on its serial console. */
  onConsole?(line: string): void;
}

export interface BootedVm {
  readonly name: string;
  readonly qemu: ChildProcess;
  /** The host's end of the VM's virtio-serial port, once QEMU connected to it. */
  readonly port: Promise<Socket>;
  /** Resolves when QEMU has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Console lines so far. */
  readonly console: string[];
  /** Kills QEMU (SIGKILL unless told) and removes the port's socket. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Boots one guest VM under QEMU with TCG (Linux guests hang under KVM on this kind of
 * machine): the kernel and initramfs given, the host's memfd as the backing of an ivshmem-plain
 * device, and a virtio-serial port on a socket chardev that QEMU connects to a UNIX socket of
 * the host's, in a private folder. The console is the first serial port, read line by line.
 */
export async function bootVm(options: BootVmOptions): Promise<BootedVm> {
  const folder = mkdtempSync(join(tmpdir(), 'vrdma-vm-'));
  const socketPath = join(folder, 'port.sock');
  const server = createServer();
  const port = new Promise<Socket>((resolve) => {
    server.once('connection', (socket) => {
      // One connection, QEMU's: nobody else gets to talk to this VM's port.
      server.close();
      resolve(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  const append = [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    ...Object.entries(options.args).map(([key, value]) => `vrdma.${key}=${value}`),
  ].join(' ');
  const qemu = spawn(
    options.qemu,
    [
      ...['-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', `${options.ramMiB ?? 768}M`],
      ...['-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot'],
      ...['-kernel', options.image.kernel, '-initrd', options.image.initramfs, '-append', append],
      '-object',
      `memory-backend-file,id=vrdma-memory,share=on,mem-path=/proc/self/fd/3,size=${options.memory.size}`,
      ...['-device', 'ivshmem-plain,memdev=vrdma-memory'],
      ...['-chardev', `socket,id=vrdma-port,path=${socketPath}`],
      ...['-device', 'virtio-serial-pci'],
      ...['-device', `virtserialport,chardev=vrdma-port,name=${VRDMA_PORT_NAME}`],
    ],
    { stdio: ['ignore', 'pipe', 'pipe', options.memory.fd] },
  );
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    qemu.once('exit', (code, signal) => {
      server.close();
      rmSync(folder, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  let partial = '';
  const onText = (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split(/\r?\n/);
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      options.onConsole?.(line);
    }
  };
  qemu.stdout!.on('data', onText);
  qemu.stderr!.on('data', onText);
  return {
    name: options.name,
    qemu,
    port,
    exited,
    console: lines,
    kill(signal = 'SIGKILL') {
      if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill(signal);
    },
  };
}

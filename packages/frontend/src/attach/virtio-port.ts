import { EventEmitter } from 'node:events';
import { closeSync, openSync, read } from 'node:fs';
import { VrdmaError } from '@vrdma/api-spec';
import { writeWithoutBlocking } from '@vrdma/memory';

const CHUNK = 4096;

/** Reads in progress on any port of this process, and who waits for them to end. */
let pendingReads = 0;
const idleWaiters = new Set<() => void>();

/**
 * Resolves true once no read of any VirtioPort is in progress, false after `timeoutMs`. A read
 * blocked on a port holds a thread of the pool, and Node's exit joins those threads: a program
 * that used a port waits for this (the host closing its end ends the read) before it exits.
 */
export function whenVirtioPortsIdle(timeoutMs: number): Promise<boolean> {
  if (pendingReads === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (idle: boolean) => {
      clearTimeout(timer);
      idleWaiters.delete(onIdle);
      resolve(idle);
    };
    const onIdle = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    idleWaiters.add(onIdle);
  });
}

/**
 * A virtio-serial port inside a VM (`/dev/vportNpM`) as a byte stream for doorbells and the
 * attach lines. A character device is not a socket Node can wrap, so reads run one at a time
 * on the thread pool and writes are direct (a doorbell is one byte). A read of 0 bytes is the
 * host's end closing. A read in progress cannot be cancelled, and holds a thread of the pool
 * until the host closes its end: see `whenVirtioPortsIdle`.
 *
 * A write never blocks: Linux blocks a writer of a port whose host end is closed until the host
 * comes back, which for a host that let the guest go is never. A write the port cannot take now
 * is dropped: for a doorbell that is safe (the bytes still queued wake the host; a host that
 * closed its end wants no more), and `write` returns false.
 */
export class VirtioPort extends EventEmitter {
  destroyed = false;
  private readonly fd: number;

  constructor(readonly path: string) {
    super();
    try {
      this.fd = openSync(path, 'r+');
    } catch (error) {
      throw new VrdmaError('DISCONNECTED', `cannot open the VM's port ${path}`, { cause: error });
    }
    this.pump();
  }

  write(chunk: Uint8Array | string): boolean {
    if (this.destroyed) return false;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    try {
      return writeWithoutBlocking(this.fd, bytes) === bytes.length;
    } catch (error) {
      this.destroy(error as Error);
      return false;
    }
  }

  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (error) this.emit('error', error);
    try {
      closeSync(this.fd);
    } catch {
      // Closed already.
    }
    this.emit('close');
  }

  private pump(): void {
    const buffer = Buffer.alloc(CHUNK);
    pendingReads++;
    read(this.fd, buffer, 0, CHUNK, null, (error, bytes) => {
      // A read that started while a write had the port non-blocking: read again, still pending.
      if (!this.destroyed && (error as NodeJS.ErrnoException | null)?.code === 'EAGAIN') {
        pendingReads--;
        return this.pump();
      }
      if (--pendingReads === 0) for (const waiter of [...idleWaiters]) waiter();
      if (this.destroyed) return;
      if (error) return this.destroy(error);
      if (bytes === 0) return this.destroy();
      this.emit('data', buffer.subarray(0, bytes));
      this.pump();
    });
  }
}

import { type Region, VrdmaError } from '@vrdma/api-spec';
import type { NotificationSource, Notifier } from './notifier.js';

interface WaitAsyncResult {
  async: boolean;
  value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out';
}
type WaitAsync = (array: Int32Array, index: number, value: number) => WaitAsyncResult;

/**
 * A doorbell between threads: a 32-bit counter in the shared region. Ringing adds one and
 * wakes the waiter (`Atomics.notify`); the listener waits with `Atomics.waitAsync`, so it never
 * blocks its event loop. Needs a region backed by a SharedArrayBuffer.
 */
export function createAtomicsDoorbell(
  region: Region,
  offset: number,
): Notifier & NotificationSource {
  const { bytes } = region;
  if (!(bytes.buffer instanceof SharedArrayBuffer)) {
    throw new VrdmaError('TRANSPORT', 'an Atomics doorbell needs a SharedArrayBuffer region');
  }
  if ((bytes.byteOffset + offset) % 4 !== 0 || offset < 0 || offset + 4 > region.size) {
    throw new VrdmaError(
      'TRANSPORT',
      `doorbell word at ${offset} is not an aligned word of the region`,
    );
  }
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + offset, 1);
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  return {
    notify() {
      Atomics.add(words, 0, 1);
      Atomics.notify(words, 0);
      return true;
    },
    subscribe(listener) {
      let stopped = false;
      let seen = Atomics.load(words, 0);
      const loop = async (): Promise<void> => {
        while (!stopped) {
          const wait = waitAsync(words, 0, seen);
          if (wait.async) await wait.value;
          if (stopped) return;
          const now = Atomics.load(words, 0);
          if (now !== seen) {
            seen = now;
            listener();
          }
        }
      };
      void loop();
      // A pending waitAsync does not keep a thread alive; a listening doorbell should, as a
      // listening socket does. The timer never fires; it is cleared when listening stops.
      const keepAlive = setInterval(() => {}, 1 << 30);
      return () => {
        stopped = true;
        clearInterval(keepAlive);
        // Wakes our own pending wait so the loop ends; the counter is unchanged.
        Atomics.notify(words, 0);
      };
    },
  };
}

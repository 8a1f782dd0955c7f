import { type Region, VrdmaError } from '@vrdma/api-spec';
import { atomicsWakeChannel, Doorbell } from '@vrdma/memory';
import { CONFIG } from './config-block.js';
import type { NotificationSource, Notifier } from './notifier.js';

export interface ShmDoorbellOptions {
  /** Longest sleep before looking again (default 250 ms); only a hostile peer makes it matter. */
  readonly sleepTimeoutMs?: number;
}

/**
 * transport-shm's doorbell as both ends a virtio side needs: `notify` rings the peer only if
 * it announced that it sleeps (so a peer busy with the ring costs no doorbell), and the
 * listener sleeps on this side's word after one last look (`hasWork`), so no ring is lost.
 */
export function shmDoorbell(
  doorbell: Doorbell,
  options: ShmDoorbellOptions = {},
): Notifier & NotificationSource {
  const timeoutMs = options.sleepTimeoutMs ?? 250;
  return {
    notify: () => doorbell.ringIfSleeping(),
    subscribe(listener, _onClose, hasWork) {
      let stopped = false;
      const loop = async (): Promise<void> => {
        while (!stopped) {
          await doorbell.sleep(() => stopped || (hasWork?.() ?? false), timeoutMs);
          if (stopped) return;
          listener();
        }
      };
      void loop();
      // A sleeping waitAsync does not keep the thread alive; a listening doorbell should.
      const keepAlive = setInterval(() => {}, 1 << 30);
      return () => {
        stopped = true;
        clearInterval(keepAlive);
        doorbell.close(); // wakes our own sleep so the loop ends now
      };
    },
  };
}

const DEVICE_SLEEPS = CONFIG.kickWord / 4;
const DRIVER_SLEEPS = CONFIG.interruptWord / 4;

/**
 * A transport-shm doorbell between threads on the two words of the configuration block:
 * the device sleeps on the kick word, the driver on the interrupt word. Pass the result as
 * both `kicks` and `interrupts` of that side's transport.
 */
export function threadShmDoorbell(
  region: Region,
  side: 'device' | 'driver',
  options?: ShmDoorbellOptions,
): Notifier & NotificationSource {
  const { bytes } = region;
  if (!(bytes.buffer instanceof SharedArrayBuffer) || bytes.byteOffset % 4 !== 0) {
    throw new VrdmaError('TRANSPORT', 'a thread doorbell needs a SharedArrayBuffer region');
  }
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, DRIVER_SLEEPS + 1);
  const [mine, peer] =
    side === 'device' ? [DEVICE_SLEEPS, DRIVER_SLEEPS] : [DRIVER_SLEEPS, DEVICE_SLEEPS];
  return shmDoorbell(
    new Doorbell(words, mine, peer, atomicsWakeChannel(words, mine, peer)),
    options,
  );
}

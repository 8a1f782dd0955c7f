import type { Worker } from 'node:worker_threads';
import { VrdmaError } from '@vrdma/api-spec';
import { atomicsWakeChannel, RegionRegistry, regionOver } from '@vrdma/memory';
import { channelBytes, initChannel, Word } from './channel-layout.js';
import { HostEndpoint } from './host-endpoint.js';
import type { PollOptions } from './poller.js';
import { DEFAULT_RING_SHAPE, type RingShape } from './ring.js';
import { isThreadMessage, type ThreadMessage } from './thread-messages.js';

export interface ChannelOptions {
  /** Slots per ring and bytes per slot (default 64 × 256: frames up to 252 bytes). */
  shape?: RingShape;
  poll?: PollOptions;
  /** First ring index (tests start near 2^32 to cross the index wrap). */
  startIndex?: number;
}

/** What the host holds for one guest: its transport and the regions it registered. */
export interface GuestConnection {
  readonly transport: HostEndpoint;
  readonly regions: RegionRegistry;
}

/**
 * Attaches a guest running in `worker` (which calls `connectToThreadHost()`): creates its
 * channel in a SharedArrayBuffer and sends it over. The worker's exit (ended, crashed or
 * terminated) is the guest's disconnect.
 */
export function attachThreadGuest(worker: Worker, options: ChannelOptions = {}): GuestConnection {
  const shape = options.shape ?? DEFAULT_RING_SHAPE;
  const channel = new SharedArrayBuffer(channelBytes(shape));
  initChannel(channel, shape, options.startIndex);
  const words = new Int32Array(channel, 0, 16);
  const transport = new HostEndpoint(
    channel,
    shape,
    atomicsWakeChannel(words, Word.HostSleeps, Word.GuestSleeps),
    options.poll,
  );
  const regions = new RegionRegistry();

  const post = (message: ThreadMessage) => worker.postMessage(message);
  const onMessage = (message: unknown) => {
    if (!isThreadMessage(message) || message.vrdmaShm !== 'region') return;
    const { id, memory } = message;
    try {
      if (!(memory instanceof SharedArrayBuffer) || !Number.isInteger(id) || id < 0) {
        throw new VrdmaError('INVALID_ARGUMENT', 'a region is an id and a SharedArrayBuffer');
      }
      regions.register(regionOver(id, memory));
      post({ vrdmaShm: 'region-ack', id });
    } catch (error) {
      post({ vrdmaShm: 'region-ack', id, error: VrdmaError.from(error).message });
    }
  };
  const onExit = (code: number) =>
    transport.fail(new VrdmaError('DISCONNECTED', `guest thread exited with code ${code}`));
  const onError = (error: Error) =>
    transport.fail(new VrdmaError('DISCONNECTED', `guest thread crashed: ${error.message}`));
  worker.on('message', onMessage);
  worker.on('exit', onExit);
  worker.on('error', onError);
  transport.onTeardown(() => {
    worker.off('message', onMessage);
    worker.off('exit', onExit);
    worker.off('error', onError);
    regions.clear();
    try {
      post({ vrdmaShm: 'detach' });
    } catch {
      // The worker is already gone.
    }
  });
  post({ vrdmaShm: 'attach', channel });
  return { transport, regions };
}

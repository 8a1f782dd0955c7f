import { atomicsWakeChannel } from '@vrdma/memory';
import { channelBytes, initChannel, Word } from './channel-layout.js';
import { GuestEndpoint } from './guest-endpoint.js';
import { HostEndpoint } from './host-endpoint.js';
import { DEFAULT_RING_SHAPE } from './ring.js';
import type { ChannelOptions } from './thread-host.js';

/**
 * Both ends of one channel in this thread: the real rings, polling and doorbells, with no
 * worker. For tests of layers above (a stub and a dispatcher over the ring), and for hosts
 * that pass the SharedArrayBuffer to a guest themselves.
 */
export function createChannelPair(options: ChannelOptions = {}): {
  client: GuestEndpoint;
  server: HostEndpoint;
  channel: SharedArrayBuffer;
} {
  const shape = options.shape ?? DEFAULT_RING_SHAPE;
  const channel = new SharedArrayBuffer(channelBytes(shape));
  initChannel(channel, shape, options.startIndex);
  const words = new Int32Array(channel, 0, 16);
  const server = new HostEndpoint(
    channel,
    shape,
    atomicsWakeChannel(words, Word.HostSleeps, Word.GuestSleeps),
    options.poll,
  );
  const client = new GuestEndpoint(
    channel,
    atomicsWakeChannel(words, Word.GuestSleeps, Word.HostSleeps),
    options.poll,
  );
  client.onTeardown(() => void server.close());
  server.onTeardown(() => void client.close());
  return { client, server, channel };
}

import type { Socket } from 'node:net';
import { VrdmaError } from '@vrdma/api-spec';
import { DoorbellMux, SocketWakeChannel } from '@vrdma/memory';
import { GuestEndpoint } from '../guest-endpoint.js';
import { HostEndpoint } from '../host-endpoint.js';
import type { PollOptions } from '../poller.js';
import type { RingShape } from '../ring.js';

/** The byte that rings the data-plane doorbell; any other byte is counted and dropped. */
export const DATA_DOORBELL = 1;

/**
 * Test support: the host end of a channel shared with a process, its doorbell a byte on
 * `socket`. The socket closing (the guest ended, crashed, was killed) is the disconnect.
 */
export function hostEndpointOnSocket(
  channel: ArrayBufferLike,
  shape: RingShape,
  socket: Socket,
  poll?: PollOptions,
): HostEndpoint {
  const bells = new DoorbellMux(socket, [DATA_DOORBELL]);
  const wake = new SocketWakeChannel(() => bells.ring(DATA_DOORBELL));
  bells.onRing(DATA_DOORBELL, () => wake.received());
  const endpoint = new HostEndpoint(channel, shape, wake, poll);
  socket.on('error', () => {}); // 'close' follows and is the disconnect
  bells.onClose(() => {
    wake.close();
    endpoint.fail(new VrdmaError('DISCONNECTED', 'the guest process closed its connection'));
  });
  endpoint.onTeardown(() => socket.destroy());
  return endpoint;
}

/** Test support: the guest end, in the child, over the channel it received. */
export function guestEndpointOnSocket(
  channel: ArrayBufferLike,
  socket: Socket,
  poll?: PollOptions,
): GuestEndpoint {
  const bells = new DoorbellMux(socket, [DATA_DOORBELL]);
  const wake = new SocketWakeChannel(() => bells.ring(DATA_DOORBELL));
  bells.onRing(DATA_DOORBELL, () => wake.received());
  const endpoint = new GuestEndpoint(channel, wake, poll);
  socket.on('error', () => {});
  bells.onClose(() => {
    wake.close();
    endpoint.fail(new VrdmaError('DISCONNECTED', 'the host closed the connection'));
  });
  endpoint.onTeardown(() => socket.destroy());
  return endpoint;
}

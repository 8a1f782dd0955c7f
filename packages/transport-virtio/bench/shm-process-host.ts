import type { Socket } from 'node:net';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { DoorbellMux, SocketWakeChannel } from '@vrdma/memory';
import { HostEndpoint, type RingShape } from '@vrdma/transport-shm';

/** The byte that rings transport-shm's doorbell on the bench's socket pair. */
export const SHM_DOORBELL = 1;

/**
 * The host end of a transport-shm channel whose guest is a process, assembled from the two
 * packages' public parts as the backend does: the doorbell is a byte on `socket`, and the
 * socket's close is the guest's departure.
 */
export function shmHostOnSocket(channel: Region, shape: RingShape, socket: Socket): HostEndpoint {
  const bells = new DoorbellMux(socket, [SHM_DOORBELL]);
  const wake = new SocketWakeChannel(() => bells.ring(SHM_DOORBELL));
  bells.onRing(SHM_DOORBELL, () => wake.received());
  const endpoint = new HostEndpoint(channel.bytes.buffer, shape, wake);
  bells.onClose(() => {
    wake.close();
    endpoint.fail(new VrdmaError('DISCONNECTED', 'the guest closed the socket'));
  });
  endpoint.onTeardown(() => socket.destroy());
  return endpoint;
}

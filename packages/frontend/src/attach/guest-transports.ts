import { ATTACH_DOORBELLS, type Region, VrdmaError } from '@vrdma/api-spec';
import { DoorbellMux, type DoorbellStream, SocketWakeChannel } from '@vrdma/memory';
import { GuestEndpoint } from '@vrdma/transport-shm';
import { createVirtioClientTransport, type VirtioClientTransport } from '@vrdma/transport-virtio';

/** A guest process's two transports, their doorbells on its socket to the host. */
export interface ProcessHostTransports {
  control: VirtioClientTransport;
  data: GuestEndpoint;
}

/** The byte stream the doorbells travel on: a UNIX socket, or a VM's virtio-serial port. */
export interface DoorbellPort extends DoorbellStream {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  destroy(): unknown;
}

/**
 * Drives the virtqueue and the data-plane channel the host made, with every doorbell a byte on
 * the socket. The socket closing, or failing, is the host going away.
 */
export function processHostTransports(
  socket: DoorbellPort,
  regions: { control: Region; data: Region },
): ProcessHostTransports {
  // A write to a host that is gone fails (EPIPE, ECONNRESET) and Node destroys the socket with
  // that error; heard here, it ends in the close below instead of ending the guest's process.
  socket.on('error', () => socket.destroy());
  const bells = new DoorbellMux(socket, [ATTACH_DOORBELLS.control, ATTACH_DOORBELLS.data]);
  const control = createVirtioClientTransport({
    region: regions.control,
    kicks: { notify: () => bells.ring(ATTACH_DOORBELLS.control) },
    interrupts: {
      subscribe: (listener, onClose) => {
        const stopRing = bells.onRing(ATTACH_DOORBELLS.control, listener);
        const stopClose = bells.onClose(() => onClose?.());
        return () => {
          stopRing();
          stopClose();
        };
      },
    },
  });
  const wake = new SocketWakeChannel(() => bells.ring(ATTACH_DOORBELLS.data));
  bells.onRing(ATTACH_DOORBELLS.data, () => wake.received());
  const data = new GuestEndpoint(regions.data.bytes.buffer, wake);
  bells.onClose(() => {
    wake.close();
    data.fail(new VrdmaError('DISCONNECTED', 'the host closed the connection'));
  });
  data.onTeardown(() => socket.destroy());
  return { control, data };
}

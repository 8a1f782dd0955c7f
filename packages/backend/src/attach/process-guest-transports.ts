import type { Socket } from 'node:net';
import { ATTACH_DOORBELLS, type Region, VrdmaError } from '@vrdma/api-spec';
import { DoorbellMux, SocketWakeChannel } from '@vrdma/memory';
import { HostEndpoint, type RingShape } from '@vrdma/transport-shm';
import { createVirtioServerTransport, type VirtioServerTransport } from '@vrdma/transport-virtio';

/** The host's two transports for a guest process, their doorbells on its socket. */
export interface ProcessGuestTransports {
  control: VirtioServerTransport;
  data: HostEndpoint;
}

/**
 * Serves a process guest's virtqueue and data-plane channel, both in memory the host created,
 * with every doorbell a byte on the guest's socket. The socket closing is the guest leaving.
 */
export function processGuestTransports(
  socket: Socket,
  regions: { control: Region; data: Region; shape: RingShape },
): ProcessGuestTransports {
  const bells = new DoorbellMux(socket, [ATTACH_DOORBELLS.control, ATTACH_DOORBELLS.data]);
  const control = createVirtioServerTransport({
    region: regions.control,
    kicks: {
      subscribe: (listener, onClose) => {
        const stopRing = bells.onRing(ATTACH_DOORBELLS.control, listener);
        const stopClose = bells.onClose(() => onClose?.());
        return () => {
          stopRing();
          stopClose();
        };
      },
    },
    interrupts: { notify: () => bells.ring(ATTACH_DOORBELLS.control) },
  });
  const wake = new SocketWakeChannel(() => bells.ring(ATTACH_DOORBELLS.data));
  bells.onRing(ATTACH_DOORBELLS.data, () => wake.received());
  const data = new HostEndpoint(regions.data.bytes.buffer, regions.shape, wake);
  bells.onClose(() => {
    const gone = new VrdmaError('DISCONNECTED', 'the guest process closed its connection');
    wake.close();
    data.fail(gone);
    control.detach(gone);
  });
  data.onTeardown(() => socket.destroy());
  return { control, data };
}

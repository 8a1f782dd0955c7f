import { type Connection, connectToHost } from '@vrdma/frontend';
import {
  type RemoteUnimemSession,
  type UnimemSpec,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';

/** A Unimem device remoted to a host: the connection behind it is `device.connection`. */
export type RemoteDevice = RemoteUnimemSession<Connection<UnimemSpec>>;

/**
 * From a guest process: attaches to the vrdma host listening at `path` and returns the Unimem
 * device, opened. Fails with DISCONNECTED when nobody listens there, TRANSPORT when the host
 * refuses (its reason in the message).
 */
export async function openRemoteDevice(
  path: string,
  options: { label: string; memoryBytes: number; token?: string },
): Promise<RemoteDevice> {
  const device = unimemSession(
    await connectToHost({
      spec: unimemSpec,
      path,
      label: options.label,
      memoryBytes: options.memoryBytes,
      token: options.token,
    }),
  );
  try {
    await device.open();
  } catch (error) {
    await device.dispose();
    throw error;
  }
  return device;
}

import { VrdmaError } from '@vrdma/api-spec';
import { nodeOf, nodeOffsetOf } from '@vrdma/unimem-api';
import { openRemoteDevice, type RemoteDevice } from '../compose/remote-device.js';
import type { Output } from './output.js';

export interface GuestCommandOptions {
  socket: string;
  label: string;
  memory: number;
  size: number;
  /** How many times to write and read back (default 1). */
  rounds?: number;
  /** The secret that earns this guest its scheduling weight on the host, if any. */
  token?: string;
}

/**
 * `vrdma guest`: an example application attaching to a running host. It allocates buffers in
 * its shared memory, exports one, writes a pattern into it through its global address (an
 * RDMA write through its own key), reads it back into a third and compares every byte.
 */
export async function runGuest(options: GuestCommandOptions, out: Output): Promise<number> {
  const device = await openRemoteDevice(options.socket, {
    label: options.label,
    memoryBytes: options.memory,
    token: options.token,
  });
  try {
    const info = await device.query();
    out.line(
      `guest ${options.label}: attached as guest ${device.connection.guest} of ${device.connection.host}, node ${info.node}, cluster nodes ${info.nodes.join(', ')}`,
    );
    return await writeAndReadBack(device, options, out);
  } catch (error) {
    // The host went away under the guest: say so with the code the library gives it.
    if (error instanceof VrdmaError && error.code === 'DISCONNECTED')
      throw new Error(`DISCONNECTED: the host went away (${error.message})`, { cause: error });
    throw error;
  } finally {
    await device.dispose();
  }
}

/** The example application itself, on a device however attached (a process, a VM). */
export async function writeAndReadBack(
  device: RemoteDevice,
  options: Pick<GuestCommandOptions, 'label' | 'size' | 'rounds'>,
  out: Output,
): Promise<number> {
  const { size, label } = options;
  const source = await device.alloc({ size });
  const target = await device.alloc({ size });
  const back = await device.alloc({ size });
  const { key, address } = await device.exportBuffer({
    buffer: target.buffer,
    access: 'read-write',
  });
  const sent = device.view(source.ref);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + 11) & 0xff;
  const { channel } = await device.openChannel({ depth: 4 });
  const where = `node ${nodeOf(address)} at offset 0x${nodeOffsetOf(address).toString(16)}`;
  const bytes = size === 1 ? '1 byte' : `${size} bytes`;
  let failed = false;
  for (let round = 1; round <= (options.rounds ?? 1); round++) {
    device.view(back.ref).fill(0);
    await device.write({ channel, local: source.ref, remote: address, key });
    await device.read({ channel, local: back.ref, remote: address, key, fence: true });
    const statuses: string[] = [];
    while (statuses.length < 2) {
      const { completions } = await device.wait({ channel, timeoutMs: 5_000 });
      if (completions.length === 0) throw new Error('no completion within 5 s');
      statuses.push(...completions.map((c) => c.status));
    }
    const same = Buffer.compare(device.view(back.ref), sent) === 0;
    const ok = same && statuses.every((s) => s === 'ok');
    if (!ok || round === 1 || round === options.rounds)
      out.line(
        `guest ${label}: round ${round}: wrote ${bytes} to its exported buffer (${where}) and read ${size === 1 ? 'it' : 'them'} back: ${statuses.join(', ')}, ${same ? 'identical' : 'DIFFERENT'}`,
      );
    failed ||= !ok;
  }
  await device.closeChannel({ channel });
  for (const b of [source, target, back]) await device.free({ buffer: b.buffer });
  return failed ? 1 : 0;
}

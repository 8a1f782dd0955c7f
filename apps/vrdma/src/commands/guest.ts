import { openRemoteDevice } from '../compose/remote-device.js';
import type { Output } from './output.js';

export interface GuestCommandOptions {
  socket: string;
  label: string;
  memory: number;
  size: number;
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
  });
  try {
    const info = await device.query();
    out.line(
      `guest ${options.label}: attached as guest ${device.connection.guest} of ${device.connection.host}, node ${info.node}, cluster nodes ${info.nodes.join(', ')}`,
    );
    const source = await device.alloc({ size: options.size });
    const target = await device.alloc({ size: options.size });
    const back = await device.alloc({ size: options.size });
    const { key, address } = await device.exportBuffer({
      buffer: target.buffer,
      access: 'read-write',
    });
    const sent = device.view(source.ref);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + 11) & 0xff;
    const { channel } = await device.openChannel({ depth: 4 });
    await device.write({ channel, local: source.ref, remote: address, key });
    await device.read({ channel, local: back.ref, remote: address, key, fence: true });
    const statuses: string[] = [];
    while (statuses.length < 2) {
      const { completions } = await device.wait({ channel, timeoutMs: 5_000 });
      if (completions.length === 0) throw new Error('no completion within 5 s');
      statuses.push(...completions.map((c) => c.status));
    }
    const same = Buffer.compare(device.view(back.ref), sent) === 0;
    out.line(
      `guest ${options.label}: wrote ${options.size} bytes to ${address.toString(16)} and read them back: ${statuses.join(', ')}, ${same ? 'identical' : 'DIFFERENT'}`,
    );
    await device.closeChannel({ channel });
    for (const b of [source, target, back]) await device.free({ buffer: b.buffer });
    return same && statuses.every((s) => s === 'ok') ? 0 : 1;
  } finally {
    await device.dispose();
  }
}

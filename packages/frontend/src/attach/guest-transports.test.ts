import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VrdmaError } from '@vrdma/api-spec';
import { createSharedRegion } from '@vrdma/memory';
import { channelBytes, DEFAULT_RING_SHAPE, initChannel } from '@vrdma/transport-shm';
import { createVirtioServerTransport } from '@vrdma/transport-virtio';
import { afterEach, describe, expect, it } from 'vitest';
import { processHostTransports } from './guest-transports.js';

let dir: string | undefined;
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Both ends of a UNIX socket, and the regions a host would have made for a guest. */
async function guestSocket() {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-guest-transports-'));
  const path = join(dir, 'host.sock');
  const hostEnd = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
    server.listen(path);
  });
  await new Promise<void>((resolve) => server!.once('listening', resolve));
  const guest = createConnection(path);
  await new Promise<void>((resolve) => guest.once('connect', resolve));
  const control = createSharedRegion(1, 512 * 1024);
  // Only to lay out the virtqueue's configuration: this host never serves it.
  createVirtioServerTransport({
    region: control,
    kicks: { subscribe: () => () => {} },
    interrupts: { notify: () => false },
  });
  const data = createSharedRegion(2, channelBytes(DEFAULT_RING_SHAPE));
  initChannel(data.bytes.buffer, DEFAULT_RING_SHAPE);
  return { guest, host: await hostEnd, regions: { control, data } };
}

describe('a guest process’s transports on its socket', () => {
  it('take an error on the socket (the host gone mid-write) as the host going away, not a crash', async () => {
    const { guest, host, regions } = await guestSocket();
    const transports = processHostTransports(guest, regions);
    const reasons = Promise.all(
      [transports.control, transports.data].map(
        (transport) =>
          new Promise<string>((resolve) =>
            transport.onDisconnect((reason: VrdmaError) => resolve(reason.code)),
          ),
      ),
    );
    host.destroy();
    // What Node does when a doorbell's write meets a peer that is gone: the socket is
    // destroyed with the write's error, which it emits before it closes. Unheard, that error
    // would end the process (here, fail the run as an uncaught exception).
    guest.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await reasons).toEqual(['DISCONNECTED', 'DISCONNECTED']);
  });
});

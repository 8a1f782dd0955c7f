import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTACH_PROTOCOL_VERSION, isVrdmaError, vmWelcomeSchema } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost } from '../host.js';
import { service } from '../service.js';
import { attachVmGuest } from './attach-vm-guest.js';
import { createVmMemory } from './vm-memory.js';

let dir: string | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The two ends of a stream standing in for a VM's virtio-serial port. */
async function portPair(): Promise<{ host: Socket; guest: Socket }> {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-vm-port-'));
  const path = join(dir, 'port.sock');
  const hostEnd = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
    server.listen(path);
  });
  await new Promise<void>((resolve) => server!.once('listening', resolve));
  const guest = createConnection(path);
  await new Promise<void>((resolve) => guest.once('connect', resolve));
  return { host: await hostEnd, guest };
}

function firstLine(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
  });
}

const MiB = 1024 * 1024;

function newHost() {
  return createHost({
    services: [service(unimemSpec, createMockCluster({ nodes: [0, 1] }).engine(0))],
  });
}

describe('a VM guest attaching on its port', () => {
  it('is told where its regions lie in the device: page-aligned windows inside it, not overlapping', async () => {
    const memory = createVmMemory(4 * MiB);
    memory.closeFd();
    const host = newHost();
    const { host: port, guest } = await portPair();
    const answer = firstLine(guest);
    const attached = attachVmGuest(host, { port, memory });
    guest.write(
      `${JSON.stringify({ type: 'attach', version: ATTACH_PROTOCOL_VERSION, label: 'vm-1', memoryBytes: MiB })}\n`,
    );
    const welcome = vmWelcomeSchema.parse(JSON.parse(await answer));
    const windows = [welcome.control, welcome.data, welcome.memory!];
    for (const window of windows) {
      expect(window.offset % 4096).toBe(0);
      expect(window.offset + window.size).toBeLessThanOrEqual(memory.size);
    }
    for (let i = 1; i < windows.length; i++)
      expect(windows[i]!.offset).toBeGreaterThanOrEqual(
        windows[i - 1]!.offset + windows[i - 1]!.size,
      );
    expect(welcome.memory!.size).toBe(memory.regions.memory.size);
    const guestInHost = await attached;
    guest.destroy();
    const gone = await guestInHost.departed;
    expect(gone.ledger.held).toEqual({});
    await host.close();
  });

  it('refuses hostile first lines with a typed error and a refusal line, holding nothing', async () => {
    const host = newHost();
    const lines = [
      'not json',
      JSON.stringify({ type: 'stats' }),
      JSON.stringify({
        type: 'attach',
        version: ATTACH_PROTOCOL_VERSION,
        label: 'vm 1; rm',
        memoryBytes: 0,
      }),
      JSON.stringify({
        type: 'attach',
        version: ATTACH_PROTOCOL_VERSION,
        label: 'vm-1',
        memoryBytes: 64 * MiB,
      }),
    ];
    for (const line of lines) {
      const memory = createVmMemory(4 * MiB);
      memory.closeFd();
      const { host: port, guest } = await portPair();
      const answer = firstLine(guest);
      const attached = attachVmGuest(host, { port, memory });
      guest.write(`${line}\n`);
      const error = await attached.catch((caught: unknown) => caught);
      expect(isVrdmaError(error) && error.code, line).toBe('INVALID_ARGUMENT');
      expect(JSON.parse(await answer)).toMatchObject({ type: 'error' });
      expect(host.guests()).toEqual([]);
      guest.destroy();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    }
    await host.close();
  });

  it('refuses a first line longer than an attach request may be, and a port that closes first', async () => {
    const host = newHost();
    for (const send of ['x'.repeat(10_000), '{"type":"att']) {
      const memory = createVmMemory(4 * MiB);
      memory.closeFd();
      const { host: port, guest } = await portPair();
      const attached = attachVmGuest(host, { port, memory });
      guest.end(send);
      const error = await attached.catch((caught: unknown) => caught);
      expect(isVrdmaError(error) && error.code).toBe('DISCONNECTED');
      expect(port.destroyed).toBe(true);
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    }
    await host.close();
  });

  it('makes only devices a PCI BAR can be: a power of two of at least 2 MiB', () => {
    for (const size of [0, 3 * MiB, MiB, 2 ** 32]) {
      try {
        createVmMemory(size);
        expect.unreachable(`${size} bytes were taken`);
      } catch (error) {
        expect(isVrdmaError(error) && error.code).toBe('INVALID_ARGUMENT');
      }
    }
  });
});

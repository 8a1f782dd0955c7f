import type { ChildProcess } from 'node:child_process';
import { createMemfdRegion, RegionRegistry } from '@vrdma/memory';
import { channelBytes, initChannel } from '../channel-layout.js';
import { DEFAULT_RING_SHAPE } from '../ring.js';
import type { ChannelOptions, GuestConnection } from '../thread-host.js';
import { forkWithRegions } from './child-with-regions.js';
import type { GuestReport, ProcessGuestCommand } from './guest-driver.js';
import { hostEndpointOnSocket } from './socket-endpoints.js';

/** The region the guest's buffers live in, as the zero-copy command expects it. */
export const GUEST_REGION = { id: 7, size: 1 << 16 };
const CHANNEL_ID = 0;

export interface TestProcessGuest {
  readonly child: ChildProcess;
  /** The host's side: the transport, and the guest's region registered under its id. */
  readonly connection: GuestConnection;
  run(
    command: ProcessGuestCommand,
    onProgress?: (report: GuestReport) => void,
  ): Promise<GuestReport>;
  /** Kills the guest if it still runs, and waits for it to be gone. */
  stop(): Promise<void>;
}

/**
 * Starts a guest process (`process-guest-main.ts`) the way a host serves one: the host creates
 * the channel and the guest's region as sealed memfds, sends them over a socket pair as
 * descriptors and keeps none; doorbells are bytes on that socket, and its close is the
 * disconnect. The test drives the guest through fork's IPC channel, beside the rings.
 */
export async function spawnProcessGuest(options: ChannelOptions = {}): Promise<TestProcessGuest> {
  const shape = options.shape ?? DEFAULT_RING_SHAPE;
  const channel = createMemfdRegion(CHANNEL_ID, channelBytes(shape), 'vrdma-test-channel');
  initChannel(channel.bytes.buffer, shape, options.startIndex);
  const memory = createMemfdRegion(GUEST_REGION.id, GUEST_REGION.size, 'vrdma-test-region');
  const regions = new RegionRegistry();
  regions.register({ id: memory.id, size: memory.size, bytes: memory.bytes });
  const { child, socket } = forkWithRegions(
    new URL('./process-guest-main.ts', import.meta.url),
    [],
    [channel, memory],
  );
  const endpoint = hostEndpointOnSocket(channel.bytes.buffer, shape, socket, options.poll);
  endpoint.onDisconnect(() => regions.clear());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`guest process exited with ${code}`)));
    child.on('message', (m: { ready?: boolean }) => {
      if (m.ready) resolve();
    });
  });
  const run = (command: ProcessGuestCommand, onProgress?: (r: GuestReport) => void) =>
    new Promise<GuestReport>((resolve, reject) => {
      const onMessage = (m: { report?: GuestReport; progress?: GuestReport }) => {
        if (m.progress) onProgress?.(m.progress);
        if (!m.report) return;
        child.off('message', onMessage);
        resolve(m.report);
      };
      child.on('message', onMessage);
      child.once('exit', (code, signal) =>
        reject(new Error(`guest process ended (${code ?? signal})`)),
      );
      child.send(command);
    });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await endpoint.close();
  };
  return {
    child,
    connection: { transport: endpoint, regions },
    run,
    stop,
  };
}

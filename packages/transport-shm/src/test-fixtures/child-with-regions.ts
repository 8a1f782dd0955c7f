import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type MemfdRegion, sendRegions } from '@vrdma/memory';
import { TS_EXEC_ARGV } from './ts-worker.js';

/**
 * The child's end of the socket pair it shares with the test: stdio slot 4 (0–2 are the
 * usual streams, 3 is fork's IPC channel, which the tests drive the child through).
 */
export const PEER_FD = 4;

/** What the child finds on its socket first: the regions, in the order of the descriptors. */
export interface RegionsMessage {
  regions: Array<{ id: number; size: number }>;
}

/**
 * Test support, never public: forks `entry` with a UNIX socket pair between this process and
 * the child (a 'pipe' stdio slot is one), sends it `regions` as descriptors over that socket,
 * then closes this side's descriptors: the memory stays mapped here, and no path to it exists.
 * From then on the socket carries only doorbell bytes. The child takes its end with
 * `regionsFromParent()`.
 */
export function forkWithRegions(
  entry: URL,
  args: string[],
  regions: readonly MemfdRegion[],
  options: { serialization?: 'json' | 'advanced' } = {},
): { child: ChildProcess; socket: Socket } {
  const child = fork(fileURLToPath(entry), args, {
    execArgv: TS_EXEC_ARGV,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
    serialization: options.serialization,
  });
  const socket = child.stdio[PEER_FD] as Socket;
  try {
    const message: RegionsMessage = {
      regions: regions.map(({ id, size }) => ({ id, size })),
    };
    sendRegions(
      socket,
      Buffer.from(JSON.stringify(message)),
      regions.map((region) => region.fd),
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    for (const region of regions) region.close();
  }
  return { child, socket };
}

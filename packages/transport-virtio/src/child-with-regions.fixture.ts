import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sendRegions } from '@vrdma/memory';

/**
 * The child's end of the socket pair it shares with its parent: stdio slot 4 (0–2 are the
 * usual streams, 3 is fork's IPC channel, which the parent drives the child through).
 */
export const PEER_FD = 4;

/** A region offered to a child: a sealed memfd to map, or a plain shared file to mirror. */
export interface OfferedRegion {
  id: number;
  size: number;
  kind: 'memfd' | 'file';
}

/**
 * Test and bench support, never public: forks the TypeScript `entry` with a UNIX socket pair
 * between this process and the child (a 'pipe' stdio slot is one) and sends it `regions`
 * with their descriptors `fds` over that socket (SCM_RIGHTS). The caller may close its own
 * descriptors once this returns; no path to the memory exists. The socket then carries only
 * doorbell bytes. The child takes its end with `regionsFromParent()`.
 */
export function forkWithRegions(
  entry: URL,
  args: string[],
  regions: readonly OfferedRegion[],
  fds: readonly number[],
): { child: ChildProcess; socket: Socket } {
  const child = fork(fileURLToPath(entry), args, {
    execArgv: ['--import', 'tsx', '--conditions=@vrdma/source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
  });
  const socket = child.stdio[PEER_FD] as Socket;
  try {
    sendRegions(socket, Buffer.from(JSON.stringify(regions)), fds);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  socket.on('error', () => {}); // 'close' follows: the doorbells see the child gone
  return { child, socket };
}

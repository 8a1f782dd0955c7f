import { Socket } from 'node:net';
import { makeNonDumpable, receiveRegions } from '@vrdma/memory';
import { type OfferedRegion, PEER_FD } from './child-with-regions.fixture.js';

/**
 * In a child started by `forkWithRegions`: makes this process non-dumpable (as a real guest
 * does), receives the regions offered and their descriptors, and hands the socket to Node for
 * the doorbells. The caller maps each memfd (`mapReceivedRegion`, which closes it) or mirrors
 * each file (`openFileMirror`, which owns it from then on).
 */
export function regionsFromParent(): {
  regions: Array<OfferedRegion & { fd: number }>;
  socket: Socket;
} {
  makeNonDumpable();
  const { data, fds } = receiveRegions(PEER_FD, { maxBytes: 4096, maxFds: 8, timeoutMs: 20_000 });
  const offered = JSON.parse(Buffer.from(data).toString('utf8')) as OfferedRegion[];
  if (offered.length !== fds.length)
    throw new Error(`${fds.length} descriptors came for ${offered.length} regions`);
  return {
    regions: offered.map((region, i) => ({ ...region, fd: fds[i]! })),
    socket: new Socket({ fd: PEER_FD, readable: true, writable: true }),
  };
}

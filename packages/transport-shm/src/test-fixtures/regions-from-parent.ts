import { Socket } from 'node:net';
import type { Region } from '@vrdma/api-spec';
import { makeNonDumpable, mapReceivedRegion, receiveRegions } from '@vrdma/memory';
import { PEER_FD, type RegionsMessage } from './child-with-regions.js';

/**
 * In a child started by `forkWithRegions`: makes this process non-dumpable (as a real guest
 * does), receives the regions as descriptors, maps each (which closes its descriptor), and
 * hands the socket to Node for the doorbells.
 */
export function regionsFromParent(): { regions: Region[]; socket: Socket } {
  makeNonDumpable();
  const { data, fds } = receiveRegions(PEER_FD, { maxBytes: 4096, maxFds: 8, timeoutMs: 20_000 });
  const { regions } = JSON.parse(Buffer.from(data).toString('utf8')) as RegionsMessage;
  if (regions.length !== fds.length)
    throw new Error(`${fds.length} descriptors came for ${regions.length} regions`);
  const mapped = regions.map(({ id, size }, i) => mapReceivedRegion(id, fds[i]!, size));
  return { regions: mapped, socket: new Socket({ fd: PEER_FD, readable: true, writable: true }) };
}

// A guest process for fd-passing.test.ts: connects to the host's socket, makes itself
// non-dumpable, receives one region as a descriptor, maps it, and proves it is the host's
// memory by reading the host's bytes and writing its own. Prints one JSON report.
import { closeSync, readdirSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { connectUnix } from '../connect-unix.js';
import { isDumpable, makeNonDumpable } from '../dumpable.js';
import { mapReceivedRegion } from '../map-received-region.js';
import { receiveRegions } from '../receive-regions.js';

/** This process's descriptors as "fd target", less the one that listed them (closed by then). */
function openFds(): string[] {
  const open: string[] = [];
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      open.push(`${entry} ${readlinkSync(`/proc/self/fd/${entry}`)}`);
    } catch {
      // the listing's own descriptor
    }
  }
  return open.sort();
}

const socketPath = process.argv[2]!;
const wasDumpable = isDumpable();
makeNonDumpable();
makeNonDumpable(); // idempotent
const socket = connectUnix(socketPath);

const beforeReceive = openFds();
const { data, fds } = receiveRegions(socket, { maxBytes: 4096, maxFds: 1, timeoutMs: 20_000 });
const afterReceive = openFds();
const { id, size } = JSON.parse(new TextDecoder().decode(data)) as { id: number; size: number };
const region = mapReceivedRegion(id, fds[0]!, size);
const afterMap = openFds();

const seen = Array.from(region.bytes.subarray(0, 4)); // the host wrote these before sending
region.bytes.set([9, 8, 7, 6], 4);
writeSync(socket, 'w'); // one byte: "look at offset 4", nothing of the memory itself
const reply = Buffer.alloc(1);
readSync(socket, reply); // the host wrote offset 8, then this byte
const seenLater = Array.from(region.bytes.subarray(8, 12));
closeSync(socket);

process.stdout.write(
  JSON.stringify({
    wasDumpable,
    dumpable: isDumpable(),
    receivedFds: fds,
    beforeReceive,
    afterReceive,
    afterMap,
    seen,
    seenLater,
  }),
);

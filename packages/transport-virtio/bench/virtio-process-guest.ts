import { openMappedRegion } from '@vrdma/memory';
import { createVirtioClientTransport } from '../src/client-transport.js';
import { streamNotificationSource, streamNotifier } from '../src/stream-doorbell.js';
import { timeQueries } from './timed-calls.js';

/** A guest process on a mapped memfd: kicks on stdout, interrupts on stdin, report over IPC. */
const [path, size, calls, burst] = process.argv.slice(2);
const client = createVirtioClientTransport({
  region: openMappedRegion(1, path!, Number(size)),
  kicks: streamNotifier(process.stdout),
  interrupts: streamNotificationSource(process.stdin),
});
const report = await timeQueries(client, Number(calls), Number(burst));
await client.close();
process.send!(report, () => process.exit(0));

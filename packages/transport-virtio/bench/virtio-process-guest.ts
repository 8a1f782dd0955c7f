import { mapReceivedRegion } from '@vrdma/memory';
import { createVirtioClientTransport } from '../src/client-transport.js';
import { regionsFromParent } from '../src/regions-from-parent.fixture.js';
import { streamNotificationSource, streamNotifier } from '../src/stream-doorbell.js';
import { timeQueries } from './timed-calls.js';

/**
 * A guest process on a memfd it received as a descriptor: kicks and interrupts are bytes on
 * the socket it shares with the host, the report goes over IPC.
 */
const [calls, burst, pollBudgetUs] = process.argv.slice(2);
const { regions, socket } = regionsFromParent();
const { id, fd, size } = regions[0]!;
const client = createVirtioClientTransport({
  region: mapReceivedRegion(id, fd, size),
  kicks: streamNotifier(socket),
  interrupts: streamNotificationSource(socket),
  ...(pollBudgetUs ? { pollBudgetUs: Number(pollBudgetUs) } : {}),
});
const report = await timeQueries(client, Number(calls), Number(burst));
await client.close();
process.send!(report, () => process.exit(0));

import { VrdmaError } from '@vrdma/api-spec';
import { DoorbellMux, mapReceivedRegion, SocketWakeChannel } from '@vrdma/memory';
import { GuestEndpoint } from '@vrdma/transport-shm';
import { regionsFromParent } from '../src/regions-from-parent.fixture.js';
import { SHM_DOORBELL } from './shm-process-host.js';
import { timeQueries } from './timed-calls.js';

/**
 * A guest process on transport-shm's polled ring: the channel is a memfd received as a
 * descriptor, the doorbell a byte on the socket shared with the host, the report over IPC.
 */
const [calls, burst] = process.argv.slice(2);
const { regions, socket } = regionsFromParent();
const { id, fd, size } = regions[0]!;
const channel = mapReceivedRegion(id, fd, size);
const bells = new DoorbellMux(socket, [SHM_DOORBELL]);
const wake = new SocketWakeChannel(() => bells.ring(SHM_DOORBELL));
bells.onRing(SHM_DOORBELL, () => wake.received());
const transport = new GuestEndpoint(channel.bytes.buffer, wake);
bells.onClose(() => {
  wake.close();
  transport.fail(new VrdmaError('DISCONNECTED', 'the host closed the socket'));
});
const report = await timeQueries(transport, Number(calls), Number(burst));
process.send!(report, () => process.exit(0));

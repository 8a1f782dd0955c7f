import { requestRingOffset } from '../channel-layout.js';
import { type ProcessGuestCommand, runCommand } from './guest-driver.js';
import { regionsFromParent } from './regions-from-parent.js';
import { DATA_DOORBELL, guestEndpointOnSocket } from './socket-endpoints.js';

/**
 * A guest process: its channel and its region arrive as descriptors on the socket it shares
 * with the host (stdio slot 4), never as paths. The test drives it through fork's IPC
 * channel, beside the rings.
 */
const { regions, socket } = regionsFromParent();
const [channel, region] = regions as [(typeof regions)[0], (typeof regions)[0]];
const transport = guestEndpointOnSocket(channel.bytes.buffer, socket);
const callIds = { next: 1 };
process.on('message', async (command: ProcessGuestCommand) => {
  if (command.cmd === 'corrupt') {
    // Bytes that name no doorbell, then a request-ring tail 1000 slots ahead, then a ring.
    socket.write(Uint8Array.from(command.garbage));
    new Int32Array(channel.bytes.buffer, requestRingOffset(), 1)[0] = 1000;
    socket.write(Uint8Array.of(DATA_DOORBELL));
    process.send!({ report: { ok: true, detail: 'ring corrupted' } });
    return;
  }
  const report = await runCommand({ transport }, region, command, callIds, (progress) =>
    process.send!({ progress }),
  );
  process.send!({ report });
  if (command.cmd === 'close') process.disconnect();
});
process.send!({ ready: true });

import { checksumCalls } from './checksum-calls.js';
import { regionsFromParent } from './regions-from-parent.js';
import { guestEndpointOnSocket } from './socket-endpoints.js';

/** The checksum guest in a process: its channel and region arrive as descriptors. */
const { regions, socket } = regionsFromParent();
const [channel, region] = regions as [(typeof regions)[0], (typeof regions)[0]];
const transport = guestEndpointOnSocket(channel.bytes.buffer, socket);
const result = await checksumCalls(transport, region);
process.send!(result);
await transport.close();
process.disconnect();

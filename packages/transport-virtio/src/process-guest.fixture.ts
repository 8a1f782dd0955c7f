import { mapReceivedRegion } from '@vrdma/memory';
import { createVirtioClientTransport } from './client-transport.js';
import { callInfo, echoRequest } from './echo-fixture.js';
import { openFileMirror } from './file-memory-port.js';
import { regionsFromParent } from './regions-from-parent.fixture.js';
import { streamNotificationSource, streamNotifier } from './stream-doorbell.js';

/**
 * A guest in its own OS process: its memory arrives as a descriptor on the socket it shares
 * with the host (a memfd it maps, or a plain file it reaches through pread/pwrite), never as a
 * path. It kicks by writing a byte on that socket, hears interrupts as bytes from it, and
 * reports over the IPC channel.
 *   process-guest <calls> <burst> [hang]
 */
const [callsArg, burstArg, mode] = process.argv.slice(2);
const calls = Number(callsArg);
const burst = Number(burstArg);
const { regions, socket } = regionsFromParent();
const memory = regions[0]!;
const mirror =
  memory.kind === 'file' ? openFileMirror(memory.fd, { role: 'driver', id: memory.id }) : undefined;
const region = mirror?.region ?? mapReceivedRegion(memory.id, memory.fd, memory.size);
const client = createVirtioClientTransport({
  region,
  ...(mirror ? { port: mirror.port } : {}),
  kicks: streamNotifier(socket),
  interrupts: streamNotificationSource(socket),
  maxInFlight: 16,
  requestBytes: 1024,
  responseBytes: 1024,
});

if (mode === 'hang') {
  // A call the host never answers; the parent kills us while it is in flight.
  void client.call(echoRequest(1, Uint8Array.of(0xff)), callInfo(1)).catch(() => {});
  process.send!({ inFlight: true });
} else {
  const ids: number[] = [];
  let mismatches = 0;
  for (let first = 1; first <= calls; first += burst) {
    const batch = Array.from({ length: Math.min(burst, calls - first + 1) }, (_, i) => first + i);
    const replies = await Promise.all(
      batch.map((id) => client.call(echoRequest(id, Uint8Array.of(id & 0x7f, 1, 2)), callInfo(id))),
    );
    replies.forEach((reply, i) => {
      const id = new DataView(reply.buffer).getUint32(4, true);
      ids.push(id);
      if (id !== batch[i] || reply[14] !== (id & 0x7f)) mismatches++;
    });
  }
  await client.close();
  mirror?.close();
  process.send!({ ids, mismatches, metrics: { ...client.metrics } }, () => process.exit(0));
}

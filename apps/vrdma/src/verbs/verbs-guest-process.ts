/**
 * A verbs guest in its own OS process:
 *   verbs-guest-process <socket path> <label> <memory bytes>
 * It attaches to the host's socket as any guest process would, opens the device and serves the
 * composition root's commands over the IPC channel (see verbs-guest-program.ts).
 */
import { connectToHost } from '@vrdma/frontend';
import { verbsSession, verbsSpec } from '@vrdma/verbs-api';
import { transportCounters } from '../compose/transport-counters.js';
import { serveVerbsGuest, type VerbsGuestCommand } from './verbs-guest-program.js';

const [path, label, memoryBytes] = process.argv.slice(2);
try {
  const device = verbsSession(
    await connectToHost({ spec: verbsSpec, path: path!, label, memoryBytes: Number(memoryBytes) }),
  );
  await device.open();
  process.on('disconnect', () => process.exit(0));
  device.connection.onDisconnect(() => process.exit(0));
  serveVerbsGuest(
    device,
    {
      send: (report) => process.send?.(report),
      onMessage: (listener) => process.on('message', (m: VerbsGuestCommand) => listener(m)),
    },
    () => transportCounters(device.connection),
  );
} catch (error) {
  process.stderr.write(
    `guest ${label}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(3);
}

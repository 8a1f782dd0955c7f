/**
 * A guest in its own OS process, started by a deployment that talks to it over the IPC channel:
 *   guest-process <socket path> <label> <memory bytes>
 * It attaches to the host's socket as any guest process would, then runs the workloads the
 * deployment sends and answers each.
 */
import { openRemoteDevice } from './remote-device.js';
import { serveWorkloads } from './serve-workloads.js';
import { transportCounters } from './transport-counters.js';

const [path, label, memoryBytes] = process.argv.slice(2);

try {
  const device = await openRemoteDevice(path!, {
    label: label!,
    memoryBytes: Number(memoryBytes),
  });
  process.on('disconnect', () => process.exit(0));
  device.connection.onDisconnect(() => process.exit(0));
  serveWorkloads(
    device,
    {
      send: (message) => process.send?.(message),
      onMessage: (listener) => process.on('message', listener),
    },
    () => transportCounters(device.connection),
  );
} catch (error) {
  process.stderr.write(
    `guest ${label}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(3);
}

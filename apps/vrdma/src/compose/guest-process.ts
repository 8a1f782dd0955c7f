/**
 * A guest in its own OS process, started by a host that talks to it over the IPC channel:
 *   guest-process <socket path> <label> <memory bytes>
 * It attaches, then runs the workloads the host sends and answers each.
 */
import { runWorkload } from '../workloads/requests.js';
import { attachToHost } from './attach-to-host.js';
import { isWorkloadMessage } from './guest-rpc.js';

const [path, label, memoryBytes] = process.argv.slice(2);
const send = (message: unknown) => process.send?.(message);

try {
  const { device, counters } = await attachToHost(path!, {
    label: label!,
    memoryBytes: Number(memoryBytes),
  });
  process.on('message', (message: unknown) => {
    if (!isWorkloadMessage(message) || !message.request) return;
    runWorkload(device, message.request, counters).then(
      (result) => send({ vrdmaWorkload: message.vrdmaWorkload, result }),
      (error: unknown) => send({ vrdmaWorkload: message.vrdmaWorkload, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  device.connection.onDisconnect(() => process.exit(0));
  send({ vrdmaWorkload: 0, result: { kind: 'transport-counters', counters: counters() } });
} catch (error) {
  process.stderr.write(
    `guest ${label}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(3);
}

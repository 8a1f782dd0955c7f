import { connectToProcessHost } from '../process-guest.js';
import { type GuestCommand, runCommand } from './guest-driver.js';

/**
 * A guest process started on its own: it knows only the host's socket path (argv). The test
 * drives it through the IPC channel of fork(), beside the rings.
 */
const path = process.argv[2]!;
const host = await connectToProcessHost(path);
const region = await host.createRegion(7, 1 << 16);
const callIds = { next: 1 };
process.on('message', async (command: GuestCommand) => {
  const report = await runCommand(host, region, command, callIds, (progress) =>
    process.send!({ progress }),
  );
  process.send!({ report });
  if (command.cmd === 'close') process.disconnect();
});
process.send!({ ready: true });

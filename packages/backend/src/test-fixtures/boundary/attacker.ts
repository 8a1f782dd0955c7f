// The attacker of guest-boundary.test.ts, bundled and run as an unprivileged user with
// node:fs and node:net alone. argv[2] is JSON: {socket, targets: {name: pid}, secrets}. It
// tries to connect to the host's socket and to reach each target's memory through /proc,
// and reports what it got.
import { lstatSync } from 'node:fs';
import { createConnection } from 'node:net';
import { type Attempt, probe } from './proc-probe.js';
import { say } from './process-io.js';

const { socket, targets, secrets } = JSON.parse(process.argv[2]!) as {
  socket: string;
  targets: Record<string, number>;
  secrets: string[];
};

/** Connects and hangs up at once: whether the socket's permissions let this user in. */
function tryConnect(path: string): Promise<Attempt<boolean>> {
  return new Promise((resolve) => {
    const connection = createConnection(path, () => {
      connection.destroy();
      resolve({ read: true });
    });
    connection.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ denied: error.code ?? String(error) }),
    );
  });
}

say({
  uid: process.getuid!(),
  // lstat needs only the folders on the way: it shows the socket is in reach, just closed.
  socketMode: lstatSync(socket).mode & 0o777,
  connect: await tryConnect(socket),
  targets: Object.fromEntries(
    Object.entries(targets).map(([name, pid]) => [name, probe(pid, secrets)]),
  ),
});

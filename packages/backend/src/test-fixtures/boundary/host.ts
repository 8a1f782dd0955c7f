// The host of guest-boundary.test.ts, bundled and run as an unprivileged user: serves Unimem
// on a mock engine to guest processes attaching at argv[2], reports every audit record, and
// runs until stdin closes. Only public APIs, as a real host would use them.
import { createHost, listen, service } from '@vrdma/backend';
import { createMockCluster } from '@vrdma/engine-mock';
import { isDumpable } from '@vrdma/memory';
import { unimemSpec } from '@vrdma/unimem-api';
import { holdCanary } from './canary.js';
import { commands, say } from './process-io.js';

const path = process.argv[2]!;
// Before listen: whether starting as this user left the process open, listen being what closes it.
const startedDumpable = isDumpable();
try {
  const host = createHost({
    services: [service(unimemSpec, createMockCluster({ nodes: [0] }).engine(0))],
    onAudit: (record) => say({ audit: record }),
  });
  await listen(host, { path });
  const secret = `host secret ${process.pid}`;
  holdCanary(secret);
  say({ ready: { pid: process.pid, uid: process.getuid!(), startedDumpable, secret } });
  for await (const _ of commands()) {
    // The host takes no commands; stdin only tells it when to stop.
  }
  process.exit(0);
} catch (error) {
  say({ failed: String(error) });
  process.exit(3);
}

// A guest of guest-boundary.test.ts, bundled and run as an unprivileged user: attaches to the
// host at argv[2] as argv[3], puts a secret in its memory, and reports where. argv[4]
// "stays-dumpable" undoes what connectToHost did, to be the test's control. It then obeys
// the test's commands until stdin closes: {write: BufferRef} writes from that reference into
// a buffer of its own; {probe: {pid, secrets}} tries to reach that process through /proc.
import { connectToHost } from '@vrdma/frontend';
import { isDumpable, nativeMemory } from '@vrdma/memory';
import type { GlobalAddress } from '@vrdma/unimem-api';
import { unimemSession, unimemSpec } from '@vrdma/unimem-api';
import { holdCanary } from './canary.js';
import { probe } from './proc-probe.js';
import { commands, say } from './process-io.js';

const [path, label, mode] = process.argv.slice(2);
// Before connectToHost: whether starting as this user left the process open, the attach being
// what closes it.
const startedDumpable = isDumpable();
try {
  const device = unimemSession(
    await connectToHost({ spec: unimemSpec, path: path!, label, memoryBytes: 1 << 20 }),
  );
  if (mode === 'stays-dumpable') nativeMemory().setDumpable(true);
  await device.open();
  const secret = `${label} secret ${process.pid}`;
  const buffer = await device.alloc({ size: 4096 });
  device.view(buffer.ref).set(new TextEncoder().encode(secret));
  holdCanary(secret);
  const { channel } = await device.openChannel({ depth: 4 });
  const target = await device.alloc({ size: 4096 });
  const { key, address } = await device.exportBuffer({ buffer: target.buffer, access: 'write' });
  const remote = address as GlobalAddress;
  const uid = process.getuid!();
  say({ ready: { pid: process.pid, uid, startedDumpable, secret, ref: buffer.ref } });
  for await (const command of commands()) {
    if (command.write) {
      try {
        const local = command.write as typeof buffer.ref;
        await device.write({ channel, local, remote, key });
        const { completions } = await device.wait({ channel, timeoutMs: 5_000 });
        // Writes are posted: what the host refuses comes back in the completion.
        const refused = completions.find((c) => c.status === 'refused');
        say(refused ? { refused: refused.error } : { wrote: completions.map((c) => c.status) });
      } catch (error) {
        say({ refused: (error as { code?: string }).code ?? String(error) });
      }
    } else if (command.probe) {
      const { pid, secrets } = command.probe as { pid: number; secrets: string[] };
      say({ probed: probe(pid, secrets) });
    }
  }
  await device.dispose();
  process.exit(0);
} catch (error) {
  say({ failed: String(error) });
  process.exit(3);
}

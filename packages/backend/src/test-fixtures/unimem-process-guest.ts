/**
 * A guest process for the attach tests: attaches to the host at argv[2] as argv[3], writes a
 * pattern to the exported buffer (argv[4] key, argv[5] address), reads it back, and prints
 * one JSON line with what it saw. It then waits for stdin to close, so a test can kill it
 * while it holds its objects.
 */
import { connectToHost } from '@vrdma/frontend';
import { type GlobalAddress, unimemSession, unimemSpec } from '@vrdma/unimem-api';

const [path, label, key, address] = process.argv.slice(2);
try {
  const device = unimemSession(
    await connectToHost({ spec: unimemSpec, path: path!, label, memoryBytes: 1 << 20 }),
  );
  await device.open();
  const out = await device.alloc({ size: 4096 });
  const back = await device.alloc({ size: 4096 });
  device.view(out.ref).forEach((_, i, view) => {
    view[i] = (i * 7 + 1) & 0xff;
  });
  const { channel } = await device.openChannel({ depth: 4 });
  const remote = BigInt(address!) as GlobalAddress;
  await device.write({ channel, local: out.ref, remote, key: Number(key) });
  await device.read({ channel, local: back.ref, remote, key: Number(key), fence: true });
  const statuses: string[] = [];
  while (statuses.length < 2) {
    const { completions } = await device.wait({ channel, timeoutMs: 5_000 });
    if (completions.length === 0) throw new Error('no completion within 5 s');
    statuses.push(...completions.map((c) => c.status));
  }
  const same = Buffer.compare(device.view(out.ref), device.view(back.ref)) === 0;
  process.stdout.write(`${JSON.stringify({ statuses, same, region: out.ref.region })}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await device.dispose();
    process.exit(0);
  });
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
  process.exit(3);
}

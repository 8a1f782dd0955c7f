/**
 * A Unimem guest process for the attach tests: attaches to the host at argv[2] as argv[3],
 * and in each round writes a pattern to the exported buffer (argv[4] key, argv[5] address),
 * reads it back, and prints one JSON line with what it saw. Round 0 runs at once, one more per
 * line on stdin (see guest-rounds.ts); it holds its objects until stdin closes, so a test can
 * kill it while it does.
 */
import { connectToHost } from '@vrdma/frontend';
import { type GlobalAddress, unimemSession, unimemSpec } from '@vrdma/unimem-api';
import { fail, runRounds } from './guest-rounds.js';
import { fillPattern } from './pattern.js';

const [path, label, key, address] = process.argv.slice(2);
try {
  const device = unimemSession(
    await connectToHost({ spec: unimemSpec, path: path!, label, memoryBytes: 1 << 20 }),
  );
  await device.open();
  const out = await device.alloc({ size: 4096 });
  const back = await device.alloc({ size: 4096 });
  const { channel } = await device.openChannel({ depth: 4 });
  const remote = BigInt(address!) as GlobalAddress;

  runRounds(
    async (round) => {
      fillPattern(device.view(out.ref), round);
      await device.write({ channel, local: out.ref, remote, key: Number(key) });
      await device.read({ channel, local: back.ref, remote, key: Number(key), fence: true });
      const statuses: string[] = [];
      while (statuses.length < 2) {
        const { completions } = await device.wait({ channel, timeoutMs: 5_000 });
        if (completions.length === 0) throw new Error('no completion within 5 s');
        statuses.push(...completions.map((c) => c.status));
      }
      const same = Buffer.compare(device.view(out.ref), device.view(back.ref)) === 0;
      return { statuses, same, region: out.ref.region };
    },
    () => device.dispose(),
  );
} catch (error) {
  fail(error);
}

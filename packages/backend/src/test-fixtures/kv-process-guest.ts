/**
 * A key-value guest process for the attach tests: attaches to the host at argv[2] as argv[3]
 * and opens the store argv[4]. In round n it puts argv[5] values of argv[6] bytes each from
 * its own memory (key n * argv[5] + i holds the pattern of that key), gets each back into
 * another value, and prints one JSON line with what it saw. Rounds as in guest-rounds.ts.
 */
import { connectToHost } from '@vrdma/frontend';
import { fail, runRounds } from './guest-rounds.js';
import { kvSpec } from './kv-api/index.js';
import { fillPattern } from './pattern.js';

const [path, label, name, perRound, size] = process.argv.slice(2);
const keysPerRound = Number(perRound);
const valueBytes = Number(size);
try {
  const connection = await connectToHost({
    spec: kvSpec,
    path: path!,
    label,
    memoryBytes: 1 << 20,
  });
  const kv = connection.api;
  const { store } = await kv.openStore({ name: name! });
  const out = await kv.allocValue({ size: valueBytes });
  const back = await kv.allocValue({ size: valueBytes });

  runRounds(
    async (round) => {
      const same: boolean[] = [];
      for (let i = 0; i < keysPerRound; i++) {
        const key = round * keysPerRound + i;
        fillPattern(connection.view(out.ref), key);
        connection.view(back.ref).fill(0);
        await kv.put({ store, key, from: out.ref });
        const { length } = await kv.get({ store, key, into: back.ref });
        same.push(
          length === valueBytes &&
            Buffer.compare(connection.view(out.ref), connection.view(back.ref)) === 0,
        );
      }
      const { keys } = await kv.stat({ store });
      return { same, keys, region: out.ref.region };
    },
    () => connection.close(),
  );
} catch (error) {
  fail(error);
}

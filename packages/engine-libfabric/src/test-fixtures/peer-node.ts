/**
 * A libfabric node in a process of its own, for tests: argv[2] is the cluster file (JSON
 * text), argv[3] this node's id, argv[4] the size of the buffer it exports read-write. It
 * prints one JSON line `{ key, address, pid }` once connected, then answers stdin lines
 * `hash <offset> <length>` with the sha256 of those bytes of its buffer, and
 * `fill <seed>` by filling the buffer with the test pattern; it runs until killed or stdin ends.
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { testPattern } from '@vrdma/unimem-api/testing';
import { parseClusterFile, startLibfabricNode } from '../index.js';

const [clusterText, nodeText, sizeText] = process.argv.slice(2);
const cluster = parseClusterFile(JSON.parse(clusterText!));
const size = Number(sizeText);
const started = await startLibfabricNode({ node: Number(nodeText), cluster });
await started.whenConnected();
const session = started.engine.openSession({ label: 'peer-node' });
await session.open();
const buffer = await session.alloc({ size });
const { key, address } = await session.exportBuffer({
  buffer: buffer.buffer,
  access: 'read-write',
});
const bytes = session.view(buffer.ref);
process.stdout.write(`${JSON.stringify({ key, address: address.toString(), pid: process.pid })}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, a, b] = line.split(' ');
  if (command === 'hash') {
    const digest = createHash('sha256')
      .update(bytes.subarray(Number(a), Number(a) + Number(b)))
      .digest('hex');
    process.stdout.write(`${digest}\n`);
  } else if (command === 'fill') {
    bytes.set(testPattern(size, Number(a)));
    process.stdout.write('filled\n');
  }
});
lines.on('close', async () => {
  await started.close();
  process.exit(0);
});

/**
 * The reference peer: node 1 of engine-unimem's own TCP fabric in a process of its own.
 * argv[2] is the engine-unimem cluster config (JSON text), argv[3] the buffer size. Prints
 * `{ key, address }` once its peer is reachable; runs until stdin ends.
 */
import { startTcpNode } from '@vrdma/engine-unimem';

const [clusterText, sizeText] = process.argv.slice(2);
const size = Number(sizeText);
const node = await startTcpNode({
  cluster: JSON.parse(clusterText!),
  node: 1,
  config: { sessionMemory: size + (1 << 20) },
});
await node.waitForPeers(60_000);
const session = node.engine.openSession();
await session.open();
const buffer = await session.alloc({ size });
const { key, address } = await session.exportBuffer({ buffer: buffer.buffer, access: 'write' });
process.stdout.write(`${JSON.stringify({ key, address: address.toString() })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await node.shutdown();
  process.exit(0);
});

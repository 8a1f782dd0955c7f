import { parentPort } from 'node:worker_threads';
import { createStub } from '@vrdma/api-spec';
import { unimemSpec } from '@vrdma/unimem-api';
import { connectToVirtioThreadHost } from './thread-attach.js';

/** A Unimem guest in a worker: open, query, alloc and free over the virtio control plane. */
const client = await connectToVirtioThreadHost();
const api = createStub(unimemSpec, client);
const opened = await api.open();
const queried = await api.query();
const buffer = await api.alloc({ size: 4096 });
await api.free({ buffer: buffer.buffer });
const error = await api.free({ buffer: buffer.buffer }).then(
  () => undefined,
  (e: { code: string }) => e.code,
);
parentPort!.postMessage({
  node: opened.node,
  sameInfo: JSON.stringify(opened) === JSON.stringify(queried),
  error,
  metrics: { ...client.metrics },
});
await client.close();

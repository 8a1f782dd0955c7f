import { parentPort } from 'node:worker_threads';
import { createStub, isVrdmaError } from '@vrdma/api-spec';
import { BufferAllocator } from '@vrdma/memory';
import { connectToThreadHost } from '../thread-guest.js';
import { checksumSpec } from './checksum-spec.js';

/** A guest application calling the checksum API through a stub over the shm ring. */
const host = await connectToThreadHost();
const region = await host.createRegion(3, 1 << 20);
const api = createStub(checksumSpec, host.transport);
const buffers = new BufferAllocator(region);
const buffer = buffers.allocate(100_000);
for (let i = 0; i < buffer.bytes.length; i++) buffer.bytes[i] = i % 7;
const { total } = await api.sum({ buffer: buffer.ref });
const { filled } = await api.fill({ buffer: buffer.ref, value: 9 });
const allNine = buffer.bytes.every((b) => b === 9);
const outside = await api.sum({ buffer: { region: 3, offset: (1 << 20) - 10, length: 11 } }).then(
  () => 'no error',
  (error: unknown) => (isVrdmaError(error) ? error.code : 'untyped'),
);
const otherRegion = await api.sum({ buffer: { region: 4, offset: 0, length: 1 } }).then(
  () => 'no error',
  (error: unknown) => (isVrdmaError(error) ? error.code : 'untyped'),
);
parentPort!.postMessage({ total, filled, allNine, outside, otherRegion });
await host.transport.close();

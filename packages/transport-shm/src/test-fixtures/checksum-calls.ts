import { type ClientTransport, createStub, isVrdmaError, type Region } from '@vrdma/api-spec';
import { BufferAllocator } from '@vrdma/memory';
import { checksumSpec } from './checksum-spec.js';

/** The size of the checksum guest's region (its id is whatever the host gave it). */
export const CHECKSUM_REGION_BYTES = 1 << 20;

/**
 * A guest application calling the checksum API through a stub over `transport`, its buffer
 * in `region`: what it saw, and the error codes of a buffer past its region's end and of a
 * region that is not its own (id + 1).
 */
export async function checksumCalls(transport: ClientTransport, region: Region) {
  const api = createStub(checksumSpec, transport);
  const buffers = new BufferAllocator(region);
  const buffer = buffers.allocate(100_000);
  for (let i = 0; i < buffer.bytes.length; i++) buffer.bytes[i] = i % 7;
  const { total } = await api.sum({ buffer: buffer.ref });
  const { filled } = await api.fill({ buffer: buffer.ref, value: 9 });
  const allNine = buffer.bytes.every((b) => b === 9);
  const codeOf = (call: Promise<unknown>) =>
    call.then(
      () => 'no error',
      (error: unknown) => (isVrdmaError(error) ? error.code : 'untyped'),
    );
  const outside = await codeOf(
    api.sum({ buffer: { region: region.id, offset: region.size - 10, length: 11 } }),
  );
  const otherRegion = await codeOf(
    api.sum({ buffer: { region: region.id + 1, offset: 0, length: 1 } }),
  );
  return { total, filled, allNine, outside, otherRegion };
}

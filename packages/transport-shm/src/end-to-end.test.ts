import { createDispatcher } from '@vrdma/api-spec';
import { createMemfdRegion, RegionRegistry } from '@vrdma/memory';
import { describe, expect, it } from 'vitest';
import { channelBytes, initChannel } from './channel-layout.js';
import type { HostEndpoint } from './host-endpoint.js';
import { DEFAULT_RING_SHAPE } from './ring.js';
import { CHECKSUM_REGION_BYTES } from './test-fixtures/checksum-calls.js';
import { checksumSpec } from './test-fixtures/checksum-spec.js';
import { forkWithRegions } from './test-fixtures/child-with-regions.js';
import { hostEndpointOnSocket } from './test-fixtures/socket-endpoints.js';
import { tsWorker } from './test-fixtures/ts-worker.js';
import { within } from './test-fixtures/within.js';
import { attachThreadGuest } from './thread-host.js';

/** The host's dispatcher: buffers resolved in the guest's own regions, nowhere else. */
function serveChecksum(transport: HostEndpoint, regions: RegionRegistry): void {
  const dispatcher = createDispatcher(checksumSpec, {
    sum: ({ buffer }) => ({ total: regions.resolve(buffer).reduce((a, b) => a + b, 0) }),
    fill: ({ buffer, value }) => ({ filled: regions.resolve(buffer).fill(value).length }),
  });
  transport.serve((request) => dispatcher.handle(request));
}

function expectedResult() {
  let total = 0;
  for (let i = 0; i < 100_000; i++) total += i % 7;
  return {
    total,
    filled: 100_000,
    allNine: true,
    outside: 'OUT_OF_RANGE',
    otherRegion: 'BAD_HANDLE',
  };
}

describe('a stub and a dispatcher over transport-shm', () => {
  it("remote an API whose buffers are resolved in the guest's own regions only (thread)", async () => {
    const worker = tsWorker(new URL('./test-fixtures/checksum-guest-main.ts', import.meta.url));
    try {
      const guest = attachThreadGuest(worker);
      serveChecksum(guest.transport, guest.regions);
      const result = await new Promise((resolve, reject) => {
        worker.on('message', (m: { vrdmaShm?: string }) => {
          if (!m.vrdmaShm) resolve(m);
        });
        worker.once('error', reject);
      });
      expect(result).toEqual(expectedResult());
      expect(guest.transport.metrics.messages).toBe(4);
    } finally {
      await worker.terminate();
    }
  });

  it('do the same with the guest in a process, its channel and region passed as descriptors', async () => {
    const channel = createMemfdRegion(0, channelBytes(DEFAULT_RING_SHAPE), 'vrdma-e2e-channel');
    initChannel(channel.bytes.buffer, DEFAULT_RING_SHAPE);
    const memory = createMemfdRegion(3, CHECKSUM_REGION_BYTES, 'vrdma-e2e-region');
    const regions = new RegionRegistry();
    regions.register({ id: memory.id, size: memory.size, bytes: memory.bytes });
    const { child, socket } = forkWithRegions(
      new URL('./test-fixtures/checksum-process-guest-main.ts', import.meta.url),
      [],
      [channel, memory],
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const transport = hostEndpointOnSocket(channel.bytes.buffer, DEFAULT_RING_SHAPE, socket);
      serveChecksum(transport, regions);
      const result = await within(
        new Promise((resolve, reject) => {
          child.once('message', resolve);
          child.once('exit', (code) => reject(new Error(`guest exited with ${code}`)));
        }),
        20_000,
        'no answer from the guest process',
      );
      expect(result).toEqual(expectedResult());
      expect(transport.metrics.messages).toBe(4);
      expect(await within(exited, 10_000, 'the guest did not exit')).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

import { createDispatcher } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { checksumSpec } from './test-fixtures/checksum-spec.js';
import { tsWorker } from './test-fixtures/ts-worker.js';
import { attachThreadGuest } from './thread-host.js';

describe('a stub and a dispatcher over transport-shm', () => {
  it("remote an API whose buffers are resolved in the guest's own regions only", async () => {
    const worker = tsWorker(new URL('./test-fixtures/checksum-guest-main.ts', import.meta.url));
    try {
      const guest = attachThreadGuest(worker);
      const dispatcher = createDispatcher(checksumSpec, {
        sum: ({ buffer }) => ({
          total: guest.regions.resolve(buffer).reduce((a, b) => a + b, 0),
        }),
        fill: ({ buffer, value }) => ({ filled: guest.regions.resolve(buffer).fill(value).length }),
      });
      guest.transport.serve((request) => dispatcher.handle(request));
      const result = await new Promise((resolve, reject) => {
        worker.on('message', (m: { vrdmaShm?: string }) => {
          if (!m.vrdmaShm) resolve(m);
        });
        worker.once('error', reject);
      });
      let expected = 0;
      for (let i = 0; i < 100_000; i++) expected += i % 7;
      expect(result).toEqual({
        total: expected,
        filled: 100_000,
        allNine: true,
        outside: 'OUT_OF_RANGE',
        otherRegion: 'BAD_HANDLE',
      });
      expect(guest.transport.metrics.messages).toBe(4);
    } finally {
      await worker.terminate();
    }
  });
});

import { describeUnimemConformance } from '@vrdma/unimem-api/testing';
import { afterAll, vi } from 'vitest';
import { startLibfabricHosts } from '../testing/libfabric-hosts.js';

// Two hosts start from the TypeScript sources on a machine others share: give them time.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

function sharedHosts(provider: 'tcp' | 'shm') {
  let started: ReturnType<typeof startLibfabricHosts> | undefined;
  afterAll(async () => {
    if (started) await (await started).teardown();
  }, 60_000);
  return async () => {
    started ??= startLibfabricHosts(provider);
    return { engines: (await started).engines, teardown: async () => {} };
  };
}

for (const provider of ['tcp', 'shm'] as const) {
  describeUnimemConformance({
    name: `engine-libfabric over ${provider}, two host processes, remoted to process guests`,
    setup: sharedHosts(provider),
  });
}

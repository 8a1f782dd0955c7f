import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VrdmaError } from '@vrdma/api-spec';
import { afterAll, describe, expect, it } from 'vitest';
import { connectToProcessHost } from './process-guest.js';
import { listenForProcessGuests, type ProcessGuestConnection } from './process-host.js';

const dir = mkdtempSync(join(tmpdir(), 'vrdma-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the pairing token of a process guest', () => {
  it('reaches the host as given, and an oversized one is dropped', async () => {
    const seen: ProcessGuestConnection[] = [];
    const host = await listenForProcessGuests(join(dir, 'host.sock'), (guest) => seen.push(guest));
    try {
      const tagged = await connectToProcessHost(host.path, { token: 'pair-me-1' });
      const oversized = await connectToProcessHost(host.path, { token: 'x'.repeat(129) });
      const plain = await connectToProcessHost(host.path);
      expect(seen.map((g) => g.token)).toEqual(['pair-me-1', undefined, undefined]);
      for (const guest of [tagged, oversized, plain])
        guest.transport.fail(new VrdmaError('DISCONNECTED', 'done'));
    } finally {
      await host.close();
    }
  });
});

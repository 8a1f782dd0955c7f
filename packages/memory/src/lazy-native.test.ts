import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs a module in a fresh Node and returns what it prints. */
function runFresh(source: string): string {
  return execFileSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=@vrdma/source', '--input-type=module', '-e', source],
    { encoding: 'utf8', timeout: 20_000 },
  );
}

const ADDON_LOADED = `(await import('node:fs')).readFileSync('/proc/self/maps', 'utf8').includes('vrdma_memory.node')`;

describe('the native add-on', () => {
  it('is not loaded by importing the package or using thread regions', () => {
    const out = runFresh(`
      const shm = await import('@vrdma/memory');
      const region = shm.createSharedRegion(1, 4096);
      new shm.BufferAllocator(region).allocate(64);
      console.log(${ADDON_LOADED});`);
    expect(out.trim()).toBe('false');
  });

  it('is loaded on the first process region', () => {
    const out = runFresh(`
      const shm = await import('@vrdma/memory');
      shm.createMemfdRegion(1, 4096).close();
      console.log(${ADDON_LOADED});`);
    expect(out.trim()).toBe('true');
  });
});

describe('a missing add-on', () => {
  it('is a TRANSPORT VrdmaError that says what to install', async () => {
    const { loadAddon } = await import('./native.js');
    const { isVrdmaError } = await import('@vrdma/api-spec');
    try {
      loadAddon('../build/Release/not-built.node');
      expect.unreachable();
    } catch (error) {
      expect(isVrdmaError(error, 'TRANSPORT')).toBe(true);
      expect((error as Error).message).toMatch(/build-essential python3.*npm rebuild/s);
    }
  });
});

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

const ADDON_LOADED = `(await import('node:fs')).readFileSync('/proc/self/maps', 'utf8').includes('vrdma_shm.node')`;

describe('the native add-on', () => {
  it('is not loaded by importing the package or using thread regions', () => {
    const out = runFresh(`
      const shm = await import('@vrdma/transport-shm');
      const region = shm.createSharedRegion(1, 4096);
      new shm.BufferAllocator(region).allocate(64);
      console.log(${ADDON_LOADED});`);
    expect(out.trim()).toBe('false');
  });

  it('is loaded on the first process region', () => {
    const out = runFresh(`
      const shm = await import('@vrdma/transport-shm');
      shm.createMemfdRegion(1, 4096).close();
      console.log(${ADDON_LOADED});`);
    expect(out.trim()).toBe('true');
  });
});

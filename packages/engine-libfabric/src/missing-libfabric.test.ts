import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs a module in a fresh Node whose add-on path names nothing: a machine without libfabric. */
function runWithoutLibfabric(source: string): string {
  return execFileSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=@vrdma/source', '--input-type=module', '-e', source],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, VRDMA_LIBFABRIC_ADDON: '../build/Release/not-built.node' },
    },
  );
}

describe('engine-libfabric without libfabric', () => {
  it('imports, and using the engine fails with one line naming the package to install', () => {
    const out = runWithoutLibfabric(`
      const lf = await import('@vrdma/engine-libfabric');
      const { isVrdmaError } = await import('@vrdma/api-spec');
      try {
        new lf.LibfabricNode(0, { provider: 'tcp' });
        console.log('opened');
      } catch (error) {
        console.log(JSON.stringify({ vrdma: isVrdmaError(error, 'TRANSPORT'), message: error.message }));
      }`);
    const result = JSON.parse(out.trim()) as { vrdma: boolean; message: string };
    expect(result.vrdma).toBe(true);
    expect(result.message).not.toContain('\n');
    expect(result.message).toMatch(/apt-get install libfabric-dev/);
  });
});

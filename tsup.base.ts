import type { Options } from 'tsup';

/**
 * How every vrdma package is built: ESM and .d.ts into dist/, for Node 20. The .d.ts build
 * resolves sibling packages through their published "types", not their sources.
 */
export function libraryBuild(entry: Record<string, string>, extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm'],
    dts: { compilerOptions: { composite: false, customConditions: [] } },
    clean: true,
    sourcemap: true,
    target: 'node20',
    ...extra,
  };
}

import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker running a TypeScript entry from the sources. Node 20 does not apply `--import tsx`
 * given in a Worker's execArgv to the worker's own entry, so a tiny bootstrap registers tsx's
 * hooks first; `--conditions=@vrdma/source` makes workspace packages resolve to sources.
 */
export function tsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, {
    ...options,
    eval: true,
    execArgv: ['--conditions=@vrdma/source', ...(options.execArgv ?? [])],
  });
}

/** Child processes run TypeScript entries through tsx the same way. */
export const TS_EXEC_ARGV = ['--import', 'tsx', '--conditions=@vrdma/source'];

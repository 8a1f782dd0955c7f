import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE_CONDITIONS = ['--conditions=@vrdma/source'];

/**
 * How to start a sibling entry script (a guest thread or process): from a build it is plain
 * JavaScript; from the sources (tests, `npm start`) it is TypeScript and needs tsx, which a
 * worker thread must register itself, through a bootstrap.
 */
export function entryPoint(name: string) {
  const built = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (existsSync(built)) {
    return {
      process: { path: built, execArgv: [] as string[] },
      worker: { path: built, execArgv: [] as string[], data: {} },
    };
  }
  const source = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  return {
    process: { path: source, execArgv: ['--import', 'tsx', ...SOURCE_CONDITIONS] },
    worker: {
      path: fileURLToPath(new URL('./ts-worker-bootstrap.mjs', import.meta.url)),
      execArgv: SOURCE_CONDITIONS,
      data: { vrdmaEntry: pathToFileURL(source).href },
    },
  };
}

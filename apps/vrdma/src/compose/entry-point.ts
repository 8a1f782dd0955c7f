import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE_CONDITIONS = ['--conditions=@vrdma/source'];

/**
 * How to start a sibling entry script (a guest thread or process): from a build it is plain
 * JavaScript; from the sources (tests, `npm start`) it is TypeScript and needs tsx, which a
 * worker thread must register itself, through a bootstrap. `near` is the module whose folder
 * holds the entry's source (the guests' is this one's); built entries all lie flat in dist/.
 */
export function entryPoint(name: string, near: string = import.meta.url) {
  const built = fileURLToPath(new URL(`./${name}.js`, near));
  if (existsSync(built)) {
    return {
      process: { path: built, execArgv: [] as string[] },
      worker: { path: built, execArgv: [] as string[], data: {} },
    };
  }
  const source = fileURLToPath(new URL(`./${name}.ts`, near));
  return {
    process: { path: source, execArgv: ['--import', 'tsx', ...SOURCE_CONDITIONS] },
    worker: {
      path: fileURLToPath(new URL('./ts-worker-bootstrap.mjs', import.meta.url)),
      execArgv: SOURCE_CONDITIONS,
      data: { vrdmaEntry: pathToFileURL(source).href },
    },
  };
}

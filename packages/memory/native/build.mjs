// Install step: builds the add-on with node-gyp against the headers of the Node that runs
// it (when they are installed beside it, as Debian's nodejs and the official tarballs do), so
// no headers are downloaded. A failed build does not fail the install: guests in threads do
// not need the add-on, and process guests then say what to install when first used.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const args = ['rebuild'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const build = spawnSync('node-gyp', args, { stdio: 'inherit' });
if (build.status !== 0) {
  console.warn(
    '@vrdma/memory: the native add-on was not built (' +
      (build.error?.message ?? `node-gyp exited with ${build.status}`) +
      '). Thread guests work without it; process guests need a C compiler, make and python3, ' +
      'then `npm rebuild @vrdma/memory`.',
  );
}

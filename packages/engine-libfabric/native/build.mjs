// Install step: builds the add-on with node-gyp against the headers of the Node that runs it
// and Debian's libfabric-dev. A failed build does not fail the install: the rest of vrdma
// works without libfabric, and this engine says what to install when first used.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (!existsSync('/usr/include/rdma/fabric.h') && !process.env.VRDMA_FORCE_LIBFABRIC_BUILD) {
  console.warn(
    '@vrdma/engine-libfabric: libfabric headers not found; the add-on was not built. ' +
      'Install them (Debian: apt-get install libfabric-dev), then `npm rebuild @vrdma/engine-libfabric`.',
  );
  process.exit(0);
}
const args = ['rebuild'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const build = spawnSync('node-gyp', args, { stdio: 'inherit' });
if (build.status !== 0) {
  console.warn(
    '@vrdma/engine-libfabric: the native add-on was not built (' +
      (build.error?.message ?? `node-gyp exited with ${build.status}`) +
      '). It needs libfabric-dev, a C compiler, make and python3; then ' +
      '`npm rebuild @vrdma/engine-libfabric`.',
  );
}

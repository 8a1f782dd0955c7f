import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

// Guest entry scripts, and the bench's echo thread, are built flat beside main.js, where
// entryPoint() looks for them.
export default defineConfig(
  libraryBuild({
    index: 'src/index.ts',
    main: 'src/main.ts',
    'guest-thread': 'src/compose/guest-thread.ts',
    'guest-process': 'src/compose/guest-process.ts',
    'echo-thread': 'src/bench/echo-thread.ts',
    'verbs-guest-thread': 'src/verbs/verbs-guest-thread.ts',
    'verbs-guest-process': 'src/verbs/verbs-guest-process.ts',
    // Bundled again, with esbuild, into the VM guests' initramfs.
    'vm-guest': 'src/vm/vm-guest.ts',
  }),
);

/**
 * A guest process built against an API the host does not serve: argv[3] 'counter' (a third
 * API) or 'grown-kv' (the key-value spec with one more function). Attaches to the host at
 * argv[2], and prints one JSON line: the error its hello met, or that it got in.
 */

import { isVrdmaError } from '@vrdma/api-spec';
import { connectToHost } from '@vrdma/frontend';
import { counterSpec, grownKvSpec } from './stranger-specs.js';

const [path, which] = process.argv.slice(2);
const spec = which === 'counter' ? counterSpec : grownKvSpec;
try {
  const connection = await connectToHost({ spec, path: path!, label: `stranger-${which}` });
  process.stdout.write(`${JSON.stringify({ connected: true })}\n`);
  await connection.close();
} catch (error) {
  const code = isVrdmaError(error) ? error.code : 'not a VrdmaError';
  process.stdout.write(`${JSON.stringify({ code, message: String((error as Error).message) })}\n`);
}

import type { UnimemApi, UnimemEngine, UnimemSession } from '@vrdma/unimem-api';
import { expectTypeOf, test } from 'vitest';
import type { UnimemNode } from './node.js';
import type { UnimemSessionImpl } from './session.js';

test('native use has exactly the API type a remoted stub has', () => {
  expectTypeOf<UnimemSessionImpl>().toExtend<UnimemSession>();
  expectTypeOf<UnimemSessionImpl>().toExtend<UnimemApi>();
  expectTypeOf<UnimemNode>().toExtend<UnimemEngine>();
});

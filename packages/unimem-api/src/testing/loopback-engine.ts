import { createDispatcher, createLoopbackLink, createStub } from '@vrdma/api-spec';
import type { SessionOptions, UnimemEngine, UnimemSession } from '../engine.js';
import { unimemSpec } from '../spec.js';

/**
 * Wraps an engine so that every call of its sessions goes through the whole remoting path,
 * stub → frame → loopback → dispatcher → engine, with no transport. Buffer views still come
 * from the engine's memory, as they would from a shared region.
 */
export function loopbackEngine(engine: UnimemEngine): UnimemEngine {
  return {
    node: engine.node,
    openSession(options?: SessionOptions): UnimemSession {
      const session = engine.openSession(options);
      const stub = createStub(
        unimemSpec,
        createLoopbackLink(createDispatcher(unimemSpec, session)),
      );
      return { ...stub, view: (ref) => session.view(ref), dispose: () => session.dispose() };
    },
  };
}

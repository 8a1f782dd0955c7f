import { createDispatcher, createLoopbackLink, createStub } from '@vrdma/api-spec';
import type { VerbsEngine, VerbsSession, VerbsSessionOptions } from '../engine.js';
import { verbsSpec } from '../spec.js';

/**
 * Wraps a verbs engine so that every call of its sessions goes through stub → frame →
 * loopback → dispatcher → engine, with no transport: the codecs and the dispatcher's checks,
 * for the conformance suite or a benchmark. Views still come from the engine's memory.
 */
export function loopbackVerbsEngine(engine: VerbsEngine): VerbsEngine {
  return {
    node: engine.node,
    openSession(options?: VerbsSessionOptions): VerbsSession {
      const session = engine.openSession(options);
      const stub = createStub(verbsSpec, createLoopbackLink(createDispatcher(verbsSpec, session)));
      return { ...stub, view: (ref) => session.view(ref), dispose: () => session.dispose() };
    },
  };
}

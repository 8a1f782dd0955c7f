import type { SessionOptions, UnimemEngine, UnimemSession } from '@vrdma/unimem-api';

/**
 * `engine`, with functions of every session it opens replaced by what `override` returns (it
 * sees the real session, to call through, and the options the host opened it with): an engine
 * that is slow, or fails, where a test needs it to.
 */
export function overridingSessions(
  engine: UnimemEngine,
  override: (session: UnimemSession, options: SessionOptions) => Partial<UnimemSession>,
): UnimemEngine {
  return {
    node: engine.node,
    openSession(options = {}) {
      const session = engine.openSession(options);
      const replaced: Partial<Record<PropertyKey, unknown>> = override(session, options);
      return new Proxy(session, {
        get: (target, property) => {
          if (property in replaced) return replaced[property];
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
}

/** A session function that always fails, as an engine that lost its device would. */
export function failing(what: string): () => Promise<never> {
  return async () => {
    throw new Error(`${what} failed`);
  };
}

import { type Connection, connectToHost } from '@vrdma/frontend';
import {
  type VerbsEngine,
  type VerbsSession,
  type VerbsSpec,
  verbsSession,
  verbsSpec,
} from '@vrdma/verbs-api';

/**
 * A verbs engine whose sessions are guests of the host listening at `path`: each session
 * attaches as this process when it is opened, so the conformance suite runs remoted unchanged.
 */
export function remoteVerbsEngine(node: number, path: string, memoryBytes = 16 << 20): VerbsEngine {
  return {
    node,
    openSession(options) {
      let connection: Connection<VerbsSpec> | undefined;
      const connecting = connectToHost({
        spec: verbsSpec,
        path,
        label: options?.label,
        memoryBytes,
      }).then((c) => {
        connection = c;
        return verbsSession(c);
      });
      const api: Record<string, unknown> = {};
      for (const fn of verbsSpec.table)
        api[fn.name] = (args: unknown, callOptions: unknown) =>
          connecting.then((session) =>
            (session as unknown as Record<string, (a: unknown, o: unknown) => unknown>)[fn.name]!(
              args,
              callOptions,
            ),
          );
      return {
        ...(api as unknown as VerbsSession),
        view: (ref) => {
          if (!connection) throw new Error('the session has not attached yet');
          return connection.view(ref);
        },
        dispose: () =>
          connecting.then(
            (session) => session.dispose(),
            () => undefined,
          ),
      };
    },
  };
}

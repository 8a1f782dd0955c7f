import { type Connection, connectToHost } from '@vrdma/frontend';
import {
  type UnimemEngine,
  type UnimemSession,
  type UnimemSpec,
  unimemSpec,
} from '@vrdma/unimem-api';

/**
 * An engine whose sessions are guests of the host listening at `path`: each session attaches
 * as this process, so an application (or the conformance suite) runs remoted unchanged. The
 * session attaches on creation; its calls wait for the attachment.
 */
export function remoteEngine(node: number, path: string, memoryBytes = 32 << 20): UnimemEngine {
  return {
    node,
    openSession(options) {
      let connection: Connection<UnimemSpec> | undefined;
      const connecting = connectToHost({
        spec: unimemSpec,
        path,
        label: options?.label,
        memoryBytes,
      }).then((c) => {
        connection = c;
        return c;
      });
      const api: Record<string, unknown> = {};
      for (const fn of unimemSpec.table) {
        api[fn.name] = (args: unknown, callOptions: unknown) =>
          connecting.then((c) =>
            (c.api as unknown as Record<string, (a: unknown, o: unknown) => unknown>)[fn.name]!(
              args,
              callOptions,
            ),
          );
      }
      return {
        ...(api as unknown as UnimemSession),
        view: (ref) => {
          if (!connection) throw new Error('the session has not attached yet');
          return connection.view(ref);
        },
        dispose: () =>
          connecting.then(
            (c) => c.close(),
            () => undefined,
          ),
      };
    },
  };
}

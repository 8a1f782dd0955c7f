import type { BufferRef } from '@vrdma/api-spec';
import type { UnimemApi, UnimemSession } from './engine.js';

/** What a remoted device needs of a guest's connection: any frontend `Connection<UnimemSpec>`. */
export interface UnimemConnection {
  readonly api: UnimemApi;
  view(ref: BufferRef): Uint8Array;
  close(): Promise<void>;
}

/** A remoted Unimem device: the same `UnimemSession` shape as a native engine session. */
export interface RemoteUnimemSession<C extends UnimemConnection = UnimemConnection>
  extends UnimemSession {
  readonly connection: C;
}

/**
 * The Unimem API of a guest's connection as a session, so an application written against a
 * native engine session runs unchanged:
 * `unimemSession(await connect({ spec: unimemSpec, control, data, memory }))`.
 */
export function unimemSession<C extends UnimemConnection>(connection: C): RemoteUnimemSession<C> {
  return {
    ...connection.api,
    view: (ref) => connection.view(ref),
    dispose: () => connection.close(),
    connection,
  };
}

import type { BufferRef } from '@vrdma/api-spec';
import type { VerbsApi, VerbsSession } from './engine.js';

/** What a remoted device needs of a guest's connection: any frontend `Connection<VerbsSpec>`. */
export interface VerbsConnection {
  readonly api: VerbsApi;
  view(ref: BufferRef): Uint8Array;
  close(): Promise<void>;
}

/** A remoted verbs device: the same `VerbsSession` shape as a native engine session. */
export interface RemoteVerbsSession<C extends VerbsConnection = VerbsConnection>
  extends VerbsSession {
  readonly connection: C;
}

/**
 * The verbs API of a guest's connection as a session, so an application written against a
 * native device runs unchanged:
 * `verbsSession(await connect({ spec: verbsSpec, control, data, memory }))`.
 */
export function verbsSession<C extends VerbsConnection>(connection: C): RemoteVerbsSession<C> {
  return {
    ...connection.api,
    view: (ref) => connection.view(ref),
    dispose: () => connection.close(),
    connection,
  };
}

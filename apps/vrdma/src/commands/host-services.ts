import { type Service, service } from '@vrdma/backend';
import { QpDirectory, VerbsDevice } from '@vrdma/engine-verbs';
import { type UnimemEngine, unimemSpec } from '@vrdma/unimem-api';
import { verbsSpec } from '@vrdma/verbs-api';

/** The APIs `vrdma host` can serve, each on the host's Unimem engine node. */
export const HOST_APIS = ['unimem', 'verbs'] as const;
export type HostApi = (typeof HOST_APIS)[number];

/**
 * The services of a host on `engine`: Unimem as it is, verbs as a verbs device built on the
 * same node (its queue pairs connect to queue pairs of this host's guests).
 */
// biome-ignore lint/suspicious/noExplicitAny: each service pairs its own spec with its engine
export function hostServices(engine: UnimemEngine, apis: readonly HostApi[]): Service<any>[] {
  const directory = new QpDirectory();
  return [...new Set(apis)].map((api) =>
    api === 'unimem'
      ? service(unimemSpec, engine)
      : service(verbsSpec, new VerbsDevice(engine, directory)),
  );
}

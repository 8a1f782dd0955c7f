import {
  type ApiSpec,
  createMemoryTransportPair,
  type GuestInterceptor,
  type Region,
  type SessionFeature,
} from '@vrdma/api-spec';
import { type Connection, connect } from '@vrdma/frontend';
import { createSharedRegion } from '@vrdma/memory';
import {
  type RemoteUnimemSession,
  type UnimemSpec,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import type { AttachedGuest, Host } from '../host.js';

let nextRegion = 100;

export interface InProcessOptions {
  label?: string;
  /** The guest's shared memory (default: a fresh region of 8 MiB, its id unique in this process). */
  memory?: Region;
  weight?: number;
  features?: SessionFeature[];
  interceptors?: GuestInterceptor[];
}

export interface InProcessConnection<S extends ApiSpec> {
  connection: Connection<S>;
  attached: AttachedGuest;
  memory: Region;
  /** Simulates a crash: both transports drop, without a goodbye. */
  crash(): Promise<void>;
}

/** A guest of any API in this process, joined to `host` by in-memory transports. */
export async function connectInProcess<S extends ApiSpec>(
  host: Host,
  spec: S,
  options: InProcessOptions = {},
): Promise<InProcessConnection<S>> {
  const memory = options.memory ?? createSharedRegion(nextRegion++, 8 * 1024 * 1024);
  const control = createMemoryTransportPair();
  const data = createMemoryTransportPair();
  const attached = host.attach({
    label: options.label,
    weight: options.weight,
    control: control.server,
    data: data.server,
    memory,
  });
  const connection = await connect({
    spec,
    control: control.client,
    data: data.client,
    memory,
    label: options.label,
    features: options.features,
    interceptors: options.interceptors,
  });
  return {
    connection,
    attached,
    memory,
    crash: async () => {
      await Promise.all([control.client.close(), data.client.close()]);
    },
  };
}

export interface InProcessGuest extends Omit<InProcessConnection<UnimemSpec>, 'connection'> {
  device: RemoteUnimemSession<Connection<UnimemSpec>>;
}

/** A Unimem guest in this process, its device opened. */
export async function inProcessGuest(
  host: Host,
  options: InProcessOptions = {},
): Promise<InProcessGuest> {
  const { connection, ...guest } = await connectInProcess(host, unimemSpec, options);
  const device = unimemSession(connection);
  await device.open();
  return { ...guest, device };
}

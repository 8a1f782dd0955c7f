import {
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

export interface InProcessGuest {
  device: RemoteUnimemSession<Connection<UnimemSpec>>;
  attached: AttachedGuest;
  memory: Region;
  /** Simulates a crash: both transports drop, without a goodbye. */
  crash(): Promise<void>;
}

/** A guest in this process, joined to `host` by in-memory transports. */
export async function inProcessGuest(
  host: Host,
  options: {
    label?: string;
    memory?: Region;
    weight?: number;
    features?: SessionFeature[];
    interceptors?: GuestInterceptor[];
  } = {},
): Promise<InProcessGuest> {
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
  const device = unimemSession(
    await connect({
      spec: unimemSpec,
      control: control.client,
      data: data.client,
      memory,
      label: options.label,
      features: options.features,
      interceptors: options.interceptors,
    }),
  );
  await device.open();
  return {
    device,
    attached,
    memory,
    crash: async () => {
      await Promise.all([control.client.close(), data.client.close()]);
    },
  };
}

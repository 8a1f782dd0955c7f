import {
  type ApiOf,
  type ApiSpec,
  type BufferRef,
  type ClientTransport,
  createStub,
  type Region,
  regionView,
  type SessionFeature,
  sessionSpec,
  type TransportMetrics,
  VrdmaError,
} from '@vrdma/api-spec';
import { type UnimemSession, type UnimemSpec, unimemSpec } from '@vrdma/unimem-api';
import { createPlaneRouter } from './plane-router.js';

export interface ConnectOptions<S extends ApiSpec> {
  /** The API the guest was built against (default: the Unimem API). */
  spec?: S;
  /** Control-plane transport (virtio). */
  control: ClientTransport;
  /** Data-plane transport (shared-memory ring). */
  data: ClientTransport;
  /** The guest's shared region; the host allocates the guest's buffers in it. */
  memory: Region;
  label?: string;
  /** Features to ask for (default: keepalive). */
  features?: SessionFeature[];
  /** How long to wait for the host's hello (default 5000 ms). */
  timeoutMs?: number;
}

export interface Connection<S extends ApiSpec> {
  /** The API object, typed by the spec: the same signatures as native use. */
  readonly api: ApiOf<S>;
  /** The id the host gave this guest. */
  readonly guest: number;
  readonly host: string;
  readonly features: readonly string[];
  /** The bytes a buffer reference names, in the guest's own mapping of its region: zero-copy. */
  view(ref: BufferRef): Uint8Array;
  readonly metrics: { control: TransportMetrics; data: TransportMetrics };
  /** Fires once if the host goes away; pending calls have then failed with DISCONNECTED. */
  onDisconnect(listener: (reason: VrdmaError) => void): void;
  /** Says goodbye (the host releases everything this guest holds) and closes the transports. */
  close(): Promise<void>;
}

/**
 * Connects a guest to a host: says hello with the spec's fingerprint and the features it
 * wants, then returns the API object, whose control calls go over `control` and data calls
 * over `data`. Fails with FINGERPRINT_MISMATCH when the host serves another version of the
 * API, and with TIMEOUT when no host answers.
 */
export async function connect<S extends ApiSpec = UnimemSpec>(
  options: ConnectOptions<S>,
): Promise<Connection<S>> {
  const spec = (options.spec ?? unimemSpec) as S;
  const { control, data, memory } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const session = createStub(sessionSpec, control);
  const welcome = await session
    .hello(
      {
        api: spec.name,
        version: spec.version,
        fingerprint: spec.fingerprint,
        features: options.features ?? ['keepalive'],
        label: options.label,
      },
      { timeoutMs },
    )
    .catch((error: unknown) => {
      if (error instanceof VrdmaError && error.code === 'TIMEOUT') {
        throw new VrdmaError('TIMEOUT', `no host answered within ${timeoutMs} ms`, {
          cause: error,
        });
      }
      throw error;
    });

  const listeners: Array<(reason: VrdmaError) => void> = [];
  let gone: VrdmaError | undefined;
  const keepalive =
    welcome.features.includes('keepalive') && welcome.leaseMs > 0
      ? setInterval(
          () => void session.ping().catch(() => {}),
          Math.max(10, Math.floor(welcome.leaseMs / 3)),
        )
      : undefined;
  keepalive?.unref();

  const onGone = (reason: VrdmaError) => {
    if (gone) return;
    gone = reason;
    if (keepalive) clearInterval(keepalive);
    for (const listener of listeners) listener(reason);
  };
  control.onDisconnect(onGone);
  data.onDisconnect(onGone);

  return {
    api: createStub(spec, createPlaneRouter({ control, data })),
    guest: welcome.guest,
    host: welcome.host,
    features: welcome.features,
    view: (ref) => {
      if (ref.region !== memory.id) {
        throw new VrdmaError(
          'OUT_OF_RANGE',
          `region ${ref.region} is not this guest's region ${memory.id}`,
        );
      }
      return regionView(memory, ref.offset, ref.length);
    },
    metrics: { control: control.metrics, data: data.metrics },
    onDisconnect: (listener) => {
      if (gone) listener(gone);
      else listeners.push(listener);
    },
    async close() {
      if (keepalive) clearInterval(keepalive);
      if (!gone) await session.goodbye(undefined, { timeoutMs: 1_000 }).catch(() => {});
      await Promise.allSettled([control.close(), data.close()]);
      onGone(new VrdmaError('DISCONNECTED', 'the guest closed the connection'));
    },
  };
}

/** A remoted Unimem device: the same `UnimemSession` shape as a native engine session. */
export interface RemoteUnimemSession extends UnimemSession {
  readonly connection: Connection<UnimemSpec>;
}

/** Connects and returns the Unimem API as a session, so an application runs unchanged. */
export async function connectUnimem(
  options: Omit<ConnectOptions<UnimemSpec>, 'spec'>,
): Promise<RemoteUnimemSession> {
  const connection = await connect({ ...options, spec: unimemSpec });
  return {
    ...connection.api,
    view: connection.view,
    dispose: () => connection.close(),
    connection,
  };
}

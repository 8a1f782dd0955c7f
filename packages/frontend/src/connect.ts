import {
  type ApiOf,
  type ApiSpec,
  type BufferRef,
  type ClientTransport,
  createStub,
  type GuestInterceptor,
  type Region,
  regionView,
  type SessionFeature,
  sessionSpec,
  type TransportMetrics,
  VrdmaError,
} from '@vrdma/api-spec';
import { createPlaneRouter } from './plane-router.js';

export interface ConnectOptions<S extends ApiSpec> {
  /** The API the guest was built against: the host must serve this very spec. */
  spec: S;
  /** Control-plane transport (virtio): the session, and control-plane calls. */
  control: ClientTransport;
  /** Data-plane transport (shared-memory ring): needed when the spec has data-plane calls. */
  data?: ClientTransport;
  /** The guest's shared region: needed when the spec uses buffer references. */
  memory?: Region;
  label?: string;
  /** Features to ask for (default: keepalive, and queues when the data plane has rings). */
  features?: SessionFeature[];
  /** How long to wait for the host's hello (default 5000 ms). */
  timeoutMs?: number;
  /** Run around every API call, the first outermost. */
  interceptors?: readonly GuestInterceptor[];
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
  readonly metrics: { control: TransportMetrics; data?: TransportMetrics };
  /** Fires once if the host goes away; pending calls have then failed with DISCONNECTED. */
  onDisconnect(listener: (reason: VrdmaError) => void): void;
  /** Says goodbye (the host releases everything this guest holds) and closes the transports. */
  close(): Promise<void>;
}

/**
 * Connects a guest to a host: says hello with the spec's name and fingerprint and the features
 * it wants, then returns the API object, whose control calls go over `control` and data calls
 * over `data`. Fails with FINGERPRINT_MISMATCH when the host does not serve this spec, and with
 * TIMEOUT when no host answers; the transports are closed whenever it fails.
 */
export async function connect<S extends ApiSpec>(
  options: ConnectOptions<S>,
): Promise<Connection<S>> {
  const { spec, control, data, memory } = options;
  try {
    requireWhatTheSpecNeeds(options);
    return await open();
  } catch (error) {
    await Promise.allSettled([control.close(), data?.close()]);
    throw error;
  }

  async function open(): Promise<Connection<S>> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const session = createStub(sessionSpec, control);
    const welcome = await session
      .hello(
        {
          api: spec.name,
          version: spec.version,
          fingerprint: spec.fingerprint,
          features: options.features ?? (data?.queues ? ['keepalive', 'queues'] : ['keepalive']),
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
    data?.onDisconnect(onGone);

    return {
      api: createStub(spec, createPlaneRouter({ control, data }), {
        interceptors: options.interceptors,
        queues: welcome.features.includes('queues') ? data?.queues : undefined,
      }),
      guest: welcome.guest,
      host: welcome.host,
      features: welcome.features,
      view: (ref) => {
        if (!memory || ref.region !== memory.id) {
          throw new VrdmaError(
            'OUT_OF_RANGE',
            memory
              ? `region ${ref.region} is not this guest's region ${memory.id}`
              : `this guest has no shared memory, so no region ${ref.region}`,
          );
        }
        return regionView(memory, ref.offset, ref.length);
      },
      metrics: { control: control.metrics, data: data?.metrics },
      onDisconnect: (listener) => {
        if (gone) listener(gone);
        else listeners.push(listener);
      },
      async close() {
        if (keepalive) clearInterval(keepalive);
        if (!gone)
          await session.goodbye(undefined, { timeoutMs: GOODBYE_TIMEOUT_MS }).catch(() => {});
        await Promise.allSettled([control.close(), data?.close()]);
        onGone(new VrdmaError('DISCONNECTED', 'the guest closed the connection'));
      },
    };
  }
}

/**
 * How long a closing guest waits for the host to take its goodbye before it resets the device
 * anyway. A host busy with other guests may take a few seconds to answer; one that never does
 * still lets the guest go.
 */
const GOODBYE_TIMEOUT_MS = 10_000;

/** A spec with buffers needs the guest's memory; one with data-plane calls, a data transport. */
function requireWhatTheSpecNeeds<S extends ApiSpec>(options: ConnectOptions<S>): void {
  const { spec } = options;
  if (spec.resources.usesBuffers && !options.memory)
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `${spec.name} keeps buffers in shared memory: connect with a memory region`,
    );
  if (spec.table.some((f) => f.plane === 'data') && !options.data)
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `${spec.name} has data-plane calls: connect with a data-plane transport`,
    );
}

import { createCodec } from './codec.js';
import type { ApiOf, ApiSpec, CallOptions, CompiledFunction } from './define-api.js';
import { VrdmaError } from './errors.js';
import { decodeFrame, FrameKind } from './frame.js';
import { GuestQueues } from './guest-queues.js';
import { summariseIssues } from './issues.js';
import type { Link, QueueLink } from './link.js';

/** One call as the guest makes it, before it is encoded. */
export interface GuestCall {
  readonly fn: CompiledFunction;
  readonly args: unknown;
  readonly options?: CallOptions;
}

export type GuestHandler = (call: GuestCall) => Promise<unknown>;

/** Work around every call of a guest (as the host's interceptors): `next` sends it on. */
export type GuestInterceptor = (next: GuestHandler) => GuestHandler;

export interface StubOptions {
  /** Run around every call, the first outermost. */
  interceptors?: readonly GuestInterceptor[];
  /**
   * Posted calls and completions: with these (and a host that feeds the guest's completion
   * queues, i.e. granted the 'queues' feature), posted and reaping calls never wait for the host.
   */
  queues?: QueueLink;
}

/**
 * The guest-side API object for `spec`: one method per function, typed from the spec, each
 * encoding its call, sending it over `link` and decoding the reply (or throwing the
 * VrdmaError the host returned). Given queues (`StubOptions.queues`), posted calls and
 * reaping calls are served on the guest: see GuestQueues.
 */
export function createStub<S extends ApiSpec>(
  spec: S,
  link: Link,
  options: StubOptions = {},
): ApiOf<S> {
  const codec = createCodec(spec);
  let nextCallId = 1;

  const call = async (
    fn: CompiledFunction,
    args: unknown,
    options?: CallOptions,
  ): Promise<unknown> => {
    const callId = nextCallId;
    nextCallId = nextCallId === 0xffff_ffff ? 1 : nextCallId + 1;
    const request = codec.encodeRequest(fn, callId, args);
    const reply = await withDeadline(
      link.call(request, { fn, callId, signal: options?.signal }),
      fn,
      options,
    );
    const frame = decodeFrame(reply);
    if (frame.callId !== callId || frame.fnId !== fn.id) {
      throw new VrdmaError(
        'MALFORMED_FRAME',
        `${fn.name}: reply for call ${frame.callId}, expected ${callId}`,
      );
    }
    if (frame.kind === FrameKind.Error) throw codec.decodeError(frame);
    if (frame.kind !== FrameKind.Result)
      throw new VrdmaError('MALFORMED_FRAME', `${fn.name}: reply is not a result`);
    const result = codec.decodeResult(fn, frame);
    if (fn.resultLayout) return result;
    const parsed = fn.result.safeParse(result);
    if (!parsed.success) {
      throw new VrdmaError(
        'MALFORMED_FRAME',
        `${fn.name}: invalid result from host: ${summariseIssues(parsed.error)}`,
      );
    }
    return parsed.data;
  };

  // Posted and reaping calls stay on the guest when the link has rings for them.
  const queues =
    options.queues && spec.queues.queues.size > 0
      ? new GuestQueues(spec, codec, options.queues)
      : undefined;
  const callAndTrack = async (c: GuestCall, guestQueues: GuestQueues) => {
    const result = await call(c.fn, c.args, c.options);
    guestQueues.track(c.fn, c.args, result);
    return result;
  };
  const send: GuestHandler = !queues
    ? (c) => call(c.fn, c.args, c.options)
    : (c) =>
        // A post costs the one promise its caller gets.
        queues.serves(c.fn) ? queues.call(c.fn, c.args, c.options) : callAndTrack(c, queues);
  const handler = (options.interceptors ?? []).reduceRight<GuestHandler>(
    (next, interceptor) => interceptor(next),
    send,
  );
  const api: Record<string, unknown> = {};
  for (const fn of spec.table) {
    api[fn.name] = (args?: unknown, callOptions?: CallOptions) =>
      handler({ fn, args, options: callOptions });
  }
  return api as ApiOf<S>;
}

/** Races a call against its AbortSignal and timeout; the late reply, if any, is dropped. */
function withDeadline<T>(
  pending: Promise<T>,
  fn: CompiledFunction,
  options?: CallOptions,
): Promise<T> {
  const signal = options?.signal;
  const timeoutMs = options?.timeoutMs;
  if (!signal && timeoutMs === undefined) return pending;
  if (signal?.aborted)
    return Promise.reject(
      new VrdmaError('ABORTED', `${fn.name} aborted`, { cause: signal.reason }),
    );
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      finish(() =>
        reject(new VrdmaError('ABORTED', `${fn.name} aborted`, { cause: signal?.reason })),
      );
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              finish(() =>
                reject(new VrdmaError('TIMEOUT', `${fn.name} timed out after ${timeoutMs} ms`)),
              ),
            timeoutMs,
          );
    const finish = (settle: () => void) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}

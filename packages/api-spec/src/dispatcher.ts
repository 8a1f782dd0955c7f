import { type Codec, createCodec } from './codec.js';
import type { ApiSpec, CompiledFunction, ImplOf } from './define-api.js';
import { FRAMEWORK_ERROR_CODES, VrdmaError } from './errors.js';
import { shortFingerprint } from './fingerprint.js';
import { decodeFrame, type Frame, FrameKind, peekFrameHeader } from './frame.js';
import { summariseIssues } from './issues.js';

/** A refused or failed call, reported to whoever hosts the dispatcher (for logs and metrics). */
export interface DispatchFailure {
  fn?: string;
  error: VrdmaError;
}

/** How a posted call ended, for the host to report it in the call's completion queue. */
export interface PostedOutcome {
  /** Undefined when the frame named no function of the spec. */
  readonly fn?: CompiledFunction;
  /** The token the guest minted (the frame's call id). */
  readonly token: number;
  /** The guest's handle of the queue that reports the call; undefined if the arguments did not decode. */
  readonly queue?: number;
  /** The decoded arguments, as the guest sent them; undefined if they did not decode. */
  readonly args?: Readonly<Record<string, unknown>>;
  readonly result?: unknown;
  readonly error?: VrdmaError;
}

export interface DispatcherOptions {
  onFailure?(failure: DispatchFailure): void;
  /** Receives how every posted call ended (posted calls get no reply). */
  onPosted?(outcome: PostedOutcome): void;
}

/** The host-side router of one connection. */
export interface Dispatcher {
  readonly spec: ApiSpec;
  /** Serves one request frame. Always resolves with a reply frame; never throws. */
  handle(request: Uint8Array): Promise<Uint8Array>;
  /**
   * Serves one posted frame (FrameKind.Post): its outcome goes to `onPosted`. Never throws.
   * Returns a promise only while the implementation is still at work on the call: a call it
   * finished at once (the engine took the post) costs no promise.
   */
  post(request: Uint8Array): undefined | Promise<void>;
}

const FRAMEWORK_CODES = new Set<string>(FRAMEWORK_ERROR_CODES);

/**
 * Routes request frames to `impl`. Everything in a frame is treated as hostile: the header,
 * the fingerprint, the function id and every argument are checked before `impl` sees them,
 * and any failure becomes a typed error reply.
 */
export function createDispatcher<S extends ApiSpec>(
  spec: S,
  impl: ImplOf<S>,
  options: DispatcherOptions = {},
): Dispatcher {
  for (const fn of spec.table) {
    if (typeof (impl as Record<string, unknown>)[fn.name] !== 'function') {
      throw new TypeError(`implementation of ${spec.name} lacks function ${fn.name}`);
    }
  }
  const codec = createCodec(spec);
  const handlers = spec.table.map((fn) => {
    const method = (impl as Record<string, (args: unknown) => unknown>)[fn.name]!.bind(impl);
    return { fn, method };
  });

  const fail = (
    fnId: number,
    callId: number,
    error: VrdmaError,
    fn?: CompiledFunction,
  ): Uint8Array => {
    options.onFailure?.({ fn: fn?.name, error });
    return codec.encodeError(fnId, callId, error);
  };

  const posted = (outcome: PostedOutcome): undefined => {
    if (outcome.error) options.onFailure?.({ fn: outcome.fn?.name, error: outcome.error });
    options.onPosted?.(outcome);
    return undefined;
  };

  /** A posted call: the same checks as a request; the outcome is reported, never replied. */
  /** A posted call the implementation finished: reported; a report that throws reports that. */
  const done = (
    fn: CompiledFunction,
    token: number,
    queue: number,
    args: Record<string, unknown>,
    result: unknown,
  ) => {
    try {
      return posted({ fn, token, queue, args, result });
    } catch (error) {
      return posted({ fn, token, queue, args, error: replyError(fn, error) });
    }
  };

  const post = (request: Uint8Array): undefined | Promise<undefined> => {
    let frame: Frame;
    try {
      frame = decodeFrame(request);
    } catch (error) {
      const token = peekFrameHeader(request)?.callId ?? 0;
      return posted({ token, error: VrdmaError.from(error, 'MALFORMED_FRAME') });
    }
    const token = frame.callId;
    if (frame.kind !== FrameKind.Post)
      return posted({
        token,
        error: new VrdmaError('MALFORMED_FRAME', `expected a posted frame, got kind ${frame.kind}`),
      });
    if (frame.fingerprint32 !== spec.fingerprint32)
      return posted({ token, error: mismatch(spec, frame.fingerprint32) });
    const handler = handlers[frame.fnId - 1];
    if (!handler?.fn.posted) {
      const what = handler
        ? `${handler.fn.name} is not a posted function`
        : `no function ${frame.fnId}`;
      return posted({ fn: handler?.fn, token, error: new VrdmaError('UNKNOWN_FUNCTION', what) });
    }
    const { fn, method } = handler;
    let args: Record<string, unknown>;
    try {
      args = decodeArgs(codec, fn, frame) as Record<string, unknown>;
    } catch (error) {
      return posted({ fn, token, error: replyError(fn, error) });
    }
    const queue = args[fn.posted!.queue] as number;
    let result: unknown;
    try {
      result = method(args);
    } catch (error) {
      return posted({ fn, token, queue, args, error: replyError(fn, error) });
    }
    if (typeof (result as PromiseLike<unknown> | null | undefined)?.then !== 'function')
      return done(fn, token, queue, args, result);
    return Promise.resolve(result).then(
      (value) => done(fn, token, queue, args, value),
      (error: unknown) => posted({ fn, token, queue, args, error: replyError(fn, error) }),
    );
  };

  return {
    spec,
    post,
    async handle(request) {
      let frame: Frame;
      try {
        frame = decodeFrame(request);
      } catch (error) {
        const { fnId, callId } = peekFrameHeader(request) ?? { fnId: 0, callId: 0 };
        return fail(fnId, callId, VrdmaError.from(error, 'MALFORMED_FRAME'));
      }
      const { fnId, callId } = frame;
      if (frame.kind !== FrameKind.Request) {
        return fail(
          fnId,
          callId,
          new VrdmaError('MALFORMED_FRAME', `expected a request frame, got kind ${frame.kind}`),
        );
      }
      if (frame.fingerprint32 !== spec.fingerprint32) {
        return fail(fnId, callId, mismatch(spec, frame.fingerprint32));
      }
      const handler = handlers[fnId - 1];
      if (!handler) {
        return fail(
          fnId,
          callId,
          new VrdmaError('UNKNOWN_FUNCTION', `${spec.name} has no function with id ${fnId}`),
        );
      }
      const { fn, method } = handler;
      let result: unknown;
      try {
        result = await method(decodeArgs(codec, fn, frame));
      } catch (error) {
        return fail(fnId, callId, replyError(fn, error), fn);
      }
      try {
        return codec.encodeResult(fn, callId, result);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return fail(
          fnId,
          callId,
          new VrdmaError('INTERNAL', `${fn.name} returned an invalid result: ${message}`),
          fn,
        );
      }
    },
  };
}

function decodeArgs(codec: Codec, fn: CompiledFunction, frame: Frame): unknown {
  const raw = codec.decodeArgs(fn, frame);
  if (fn.argsLayout) return raw;
  const parsed = fn.args.safeParse(raw);
  if (!parsed.success) {
    throw new VrdmaError('INVALID_ARGUMENT', `${fn.name}: ${summariseIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Keeps declared and framework codes; anything else is INTERNAL, with no stack sent. */
function replyError(fn: CompiledFunction, error: unknown): VrdmaError {
  if (error instanceof VrdmaError) {
    if (fn.errors.has(error.code) || FRAMEWORK_CODES.has(error.code)) return error;
    return new VrdmaError(
      'INTERNAL',
      `${fn.name} failed with undeclared code ${error.code}: ${error.message}`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new VrdmaError('INTERNAL', `${fn.name} failed: ${message}`);
}

function mismatch(spec: ApiSpec, guest: number): VrdmaError {
  return new VrdmaError(
    'FINGERPRINT_MISMATCH',
    `guest spec fingerprint ${shortFingerprint(guest)} does not match host spec ${spec.name} v${spec.version} (${shortFingerprint(spec.fingerprint)}); rebuild the guest against the host's spec`,
  );
}

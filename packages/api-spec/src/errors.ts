/**
 * Codes the framework itself may raise, whatever the API. An API adds its own codes
 * through `defineApi({ errors })`; `VrdmaError` carries either kind.
 */
export const FRAMEWORK_ERROR_CODES = [
  /** A frame could not be decoded: truncated, bad header, bad payload. */
  'MALFORMED_FRAME',
  /** The frame names a function id the receiver does not know. */
  'UNKNOWN_FUNCTION',
  /** The arguments do not match the function's schema. */
  'INVALID_ARGUMENT',
  /** Guest and host were built from different specs. */
  'FINGERPRINT_MISMATCH',
  /** The implementation failed in a way it did not declare. */
  'INTERNAL',
  /** The peer went away (detached, crashed, shut down). */
  'DISCONNECTED',
  /** The call did not complete within its deadline. */
  'TIMEOUT',
  /** The caller cancelled the call through its AbortSignal. */
  'ABORTED',
  /** The transport failed (ring broken, message too large, ...). */
  'TRANSPORT',
  /** A handle that is not the caller's, not of the kind expected, or released. */
  'BAD_HANDLE',
  /** A buffer reference outside the caller's own memory, or another range out of bounds. */
  'OUT_OF_RANGE',
  /** The host's limit for this guest (objects of a kind, bytes, calls in flight) is reached. */
  'QUOTA_EXCEEDED',
  /** The host's policy does not allow this caller the request (e.g. stats on a guests' socket). */
  'PERMISSION_DENIED',
] as const;

export type FrameworkErrorCode = (typeof FRAMEWORK_ERROR_CODES)[number];

/** What crosses the wire for an error: plain data, no stack. */
export interface WireError {
  code: string;
  message: string;
  cause?: WireError | string;
}

const MAX_CAUSE_DEPTH = 4;

/**
 * The one error class of vrdma. `code` is a framework code or one the API declared;
 * it survives the wire with its message and cause.
 */
export class VrdmaError<Code extends string = string> extends Error {
  override readonly name = 'VrdmaError';
  readonly code: Code | FrameworkErrorCode;

  constructor(code: Code | FrameworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** Wraps anything thrown into a VrdmaError, keeping VrdmaErrors as they are. */
  static from(error: unknown, code: FrameworkErrorCode = 'INTERNAL'): VrdmaError {
    if (error instanceof VrdmaError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new VrdmaError(code, message, { cause: error });
  }

  /** Plain data for the wire: code, message and the chain of causes (bounded). */
  toWire(depth = 0): WireError {
    return { code: this.code, message: this.message, ...causeToWire(this.cause, depth) };
  }

  /** Rebuilds an error received from the wire; never throws on odd input. */
  static fromWire(wire: unknown): VrdmaError {
    if (typeof wire !== 'object' || wire === null) {
      return new VrdmaError('MALFORMED_FRAME', 'error reply without an error object');
    }
    // A plain msgpack map (as a transport writes when it must answer for a call itself)
    // decodes to a Map when records are enabled.
    const fields = wire instanceof Map ? Object.fromEntries(wire) : wire;
    const { code, message, cause } = fields as Record<string, unknown>;
    if (typeof code !== 'string' || typeof message !== 'string') {
      return new VrdmaError('MALFORMED_FRAME', 'error reply without a code and a message');
    }
    const rebuiltCause =
      typeof cause === 'string'
        ? cause
        : cause === undefined
          ? undefined
          : VrdmaError.fromWire(cause);
    return new VrdmaError(
      code,
      message,
      rebuiltCause === undefined ? undefined : { cause: rebuiltCause },
    );
  }
}

function causeToWire(cause: unknown, depth: number): { cause?: WireError | string } {
  if (cause === undefined || depth >= MAX_CAUSE_DEPTH) return {};
  if (cause instanceof VrdmaError) return { cause: cause.toWire(depth + 1) };
  if (cause instanceof Error) return { cause: `${cause.name}: ${cause.message}` };
  return { cause: String(cause) };
}

/** True when `error` is a VrdmaError, optionally with the given code. */
export function isVrdmaError<C extends string>(error: unknown, code?: C): error is VrdmaError<C> {
  return error instanceof VrdmaError && (code === undefined || error.code === code);
}

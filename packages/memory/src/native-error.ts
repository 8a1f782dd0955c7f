import { VrdmaError } from '@vrdma/api-spec';

/** The code a native call failed with: errno's name (`ENOENT`, ...) or the add-on's own. */
export function nativeCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A native failure as a TRANSPORT VrdmaError that says what was being done; keeps the cause. */
export function transportError(what: string, error: unknown): VrdmaError {
  if (error instanceof VrdmaError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VrdmaError('TRANSPORT', `${what}: ${message}`, { cause: error });
}

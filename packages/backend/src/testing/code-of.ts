import { isVrdmaError } from '@vrdma/api-spec';

/** The code a call fails with, undefined when it succeeds. */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isVrdmaError(error) ? error.code : `not a VrdmaError: ${String(error)}`;
  }
}

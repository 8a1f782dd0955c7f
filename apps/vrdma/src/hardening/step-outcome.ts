import { isVrdmaError } from '@vrdma/api-spec';

/** How the host answered one hostile move. */
export type Outcome =
  | { kind: 'ok' }
  | { kind: 'refused'; code: string }
  /** The host let the hostile guest go (or its own garbage cut it off). */
  | { kind: 'gone' }
  /** No answer in time: allowed only where the move itself may wait (a posted frame, a wait). */
  | { kind: 'silent' };

/** A broken promise of the host, with the step that broke it. */
export class FuzzFailure extends Error {}

/**
 * Settles `attempt` into an Outcome. An answer that is not a typed VrdmaError, or INTERNAL (the
 * host failing in a way it did not declare), is a failure.
 */
export async function settle(
  attempt: () => Promise<unknown>,
  isGone: () => boolean,
  timeoutMs: number,
): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<'silent'>((resolve) => {
    timer = setTimeout(() => resolve('silent'), timeoutMs);
  });
  try {
    const answer = await Promise.race([attempt().then(() => 'ok' as const), silence]);
    if (answer === 'silent') return isGone() ? { kind: 'gone' } : { kind: 'silent' };
    return { kind: 'ok' };
  } catch (error) {
    if (isGone() || (isVrdmaError(error) && error.code === 'DISCONNECTED')) return { kind: 'gone' };
    if (!isVrdmaError(error))
      throw new FuzzFailure(`an answer that is not a typed error: ${String(error)}`);
    if (error.code === 'TIMEOUT') return { kind: 'silent' };
    if (error.code === 'INTERNAL')
      throw new FuzzFailure(`the host failed in a way it did not declare: ${error.message}`);
    return { kind: 'refused', code: error.code };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `promise`, or a failure naming `what` once `ms` have passed without it settling: for
 * events that must come (an exit, a close) and would otherwise hang a test until its
 * timeout with no word of what was missing.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

import type { DepartedGuest, LedgerSnapshot } from '@vrdma/backend';

/** What is still held in `ledger`, in words; empty when the host holds nothing for the guest. */
export function leftovers(ledger: LedgerSnapshot): string[] {
  const left: string[] = [];
  for (const [kind, count] of Object.entries(ledger.held)) if (count) left.push(`${count} ${kind}`);
  if (ledger.bytes) left.push(`${ledger.bytes} bytes`);
  if (ledger.calls) left.push(`${ledger.calls} calls`);
  if (ledger.memory) left.push(`${ledger.memory} bytes of mapped memory`);
  return left;
}

/** Waits for a guest's departure and returns what the host still held for it after cleanup. */
export async function departedLeftovers(
  departed: Promise<DepartedGuest>,
  label: string,
  timeoutMs: number,
): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    const record = await Promise.race([departed, late]);
    if (!record) return [`${label} was never let go (${timeoutMs} ms)`];
    return leftovers(record.ledger).map((left) => `${label} left ${left}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves `work`, or fails with `what` after `timeoutMs`. */
export async function within<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

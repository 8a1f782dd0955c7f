/**
 * What two sides of a verbs application exchange outside RDMA, as real applications do over a
 * socket (queue pair numbers, addresses and keys, "I am done"): JSON-safe messages, in order.
 */
export interface OutOfBand {
  send(message: Record<string, unknown>): void;
  receive(): Promise<Record<string, unknown>>;
}

/** Two connected in-memory ends, for two sides in one process. */
export function outOfBandPair(): [OutOfBand, OutOfBand] {
  const make = (inbox: Mailbox, outbox: Mailbox): OutOfBand => ({
    send: (message) => outbox.put(message),
    receive: () => inbox.take(),
  });
  const toA = new Mailbox();
  const toB = new Mailbox();
  return [make(toA, toB), make(toB, toA)];
}

/** Messages in order; a receiver waits for the next one. */
export class Mailbox {
  private readonly messages: Record<string, unknown>[] = [];
  private readonly waiting: Array<(message: Record<string, unknown>) => void> = [];

  put(message: Record<string, unknown>): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(message);
    else this.messages.push(message);
  }

  take(): Promise<Record<string, unknown>> {
    const message = this.messages.shift();
    if (message) return Promise.resolve(message);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

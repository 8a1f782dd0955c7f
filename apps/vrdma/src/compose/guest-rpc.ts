import type { WorkloadRequest, WorkloadResult } from '../workloads/requests.js';

/** A workload request to a guest, and its answer; tagged so they never mix with transports' messages. */
export interface WorkloadMessage {
  vrdmaWorkload: number;
  request?: WorkloadRequest;
  result?: WorkloadResult;
  error?: string;
}

export function isWorkloadMessage(message: unknown): message is WorkloadMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as WorkloadMessage).vrdmaWorkload === 'number'
  );
}

/** Matches answers to requests over any message channel (worker port, process IPC). */
export class WorkloadClient {
  private next = 1;
  private readonly pending = new Map<
    number,
    { resolve(r: WorkloadResult): void; reject(e: Error): void }
  >();

  constructor(private readonly send: (message: WorkloadMessage) => void) {}

  run(request: WorkloadRequest): Promise<WorkloadResult> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ vrdmaWorkload: id, request });
    });
  }

  /** Feeds a message received from the guest; returns false if it was not an answer. */
  receive(message: unknown): boolean {
    if (!isWorkloadMessage(message) || message.request) return false;
    const waiter = this.pending.get(message.vrdmaWorkload);
    this.pending.delete(message.vrdmaWorkload);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else if (message.result) waiter?.resolve(message.result);
    return true;
  }

  failAll(reason: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(reason);
    this.pending.clear();
  }
}

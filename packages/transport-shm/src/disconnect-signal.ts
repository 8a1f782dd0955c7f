import type { VrdmaError } from '@vrdma/api-spec';

/** A one-shot event: listeners added after it fired are called at once with the same reason. */
export class DisconnectSignal {
  private reason: VrdmaError | undefined;
  private readonly listeners: Array<(reason: VrdmaError) => void> = [];

  get fired(): VrdmaError | undefined {
    return this.reason;
  }

  listen(listener: (reason: VrdmaError) => void): void {
    if (this.reason) queueMicrotask(() => listener(this.reason!));
    else this.listeners.push(listener);
  }

  fire(reason: VrdmaError): boolean {
    if (this.reason) return false;
    this.reason = reason;
    for (const listener of this.listeners.splice(0)) {
      try {
        listener(reason);
      } catch {
        // A listener's failure must not stop the others from hearing of the disconnect.
      }
    }
    return true;
  }
}

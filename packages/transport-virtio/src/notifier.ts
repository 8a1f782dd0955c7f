/**
 * The two ends of a doorbell, kept minimal so any doorbell fits: Atomics between threads, a
 * byte stream (UNIX socket, pipe) between processes, or transport-shm's doorbells.
 * A kick is the driver ringing the device; an interrupt is the device ringing the driver.
 */
export interface Notifier {
  /** Rings the peer once. */
  notify(): void;
}

export interface NotificationSource {
  /**
   * Calls `listener` after the peer rang (several rings may be coalesced into one call).
   * `onClose` fires once if the doorbell itself goes away (the peer process died).
   * Returns a function that stops listening.
   */
  subscribe(listener: () => void, onClose?: () => void): () => void;
}

/**
 * The two ends of a doorbell, kept minimal so any doorbell fits: Atomics between threads, a
 * byte stream (UNIX socket, pipe) between processes, or transport-shm's doorbells.
 * A kick is the driver ringing the device; an interrupt is the device ringing the driver.
 */
export interface Notifier {
  /**
   * Rings the peer; true if it did. False when the doorbell knew the peer was awake and did
   * not ring (transport-shm's sleep protocol) or is closed: only real rings are counted.
   */
  notify(): boolean;
}

export interface NotificationSource {
  /**
   * Calls `listener` after the peer rang (several rings may be coalesced into one call).
   * `onClose` fires once if the doorbell itself goes away (the peer process died).
   * `hasWork` lets a doorbell that sleeps look once more before sleeping, so that a ring
   * skipped because this side looked awake is never lost.
   * Returns a function that stops listening.
   */
  subscribe(listener: () => void, onClose?: () => void, hasWork?: () => boolean): () => void;
}

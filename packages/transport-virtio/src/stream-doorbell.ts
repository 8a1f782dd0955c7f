import type { NotificationSource, Notifier } from './notifier.js';

/** The part of a writable byte stream (socket, pipe) a doorbell needs. */
export interface ByteSink {
  write(chunk: Uint8Array): unknown;
  destroyed?: boolean;
}

/** The part of a readable byte stream a doorbell needs. */
export interface ByteSource {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

const RING = new Uint8Array([1]);

/** Rings by writing one byte to a stream: one byte is one notification. */
export function streamNotifier(sink: ByteSink): Notifier {
  return {
    notify() {
      if (sink.destroyed) return false;
      sink.write(RING);
      return true;
    },
  };
}

/** Hears the peer's rings as bytes on a stream; the stream closing means the peer is gone. */
export function streamNotificationSource(source: ByteSource): NotificationSource {
  return {
    subscribe(listener, onClose) {
      const onData = (): void => listener();
      const onEnd = (): void => onClose?.();
      source.on('data', onData);
      source.on('close', onEnd);
      return () => {
        source.off('data', onData);
        source.off('close', onEnd);
      };
    },
  };
}

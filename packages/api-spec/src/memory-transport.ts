import { VrdmaError } from './errors.js';
import type {
  ClientTransport,
  FrameHandler,
  ServerTransport,
  TransportMetrics,
} from './transport.js';

const CALL_ID_OFFSET = 4;

interface Counters {
  messages: number;
  doorbells: number;
}

/**
 * A client and a server transport joined in memory, with the semantics of a real one: replies
 * matched by call id, many calls in flight, a doorbell counted per batch of requests sent in
 * one tick, and every pending call failing with DISCONNECTED when either side closes. For
 * tests and for single-process compositions.
 */
export function createMemoryTransportPair(): { client: ClientTransport; server: ServerTransport } {
  const pending = new Map<
    number,
    { resolve(reply: Uint8Array): void; reject(error: VrdmaError): void }
  >();
  const clientCounters: Counters = { messages: 0, doorbells: 0 };
  const serverCounters: Counters = { messages: 0, doorbells: 0 };
  const clientListeners: Array<(reason: VrdmaError) => void> = [];
  const serverListeners: Array<(reason: VrdmaError) => void> = [];
  let handler: FrameHandler | undefined;
  let backlog: Uint8Array[] = [];
  let batch: Uint8Array[] = [];
  let closed: VrdmaError | undefined;

  const deliver = (request: Uint8Array) => {
    serverCounters.messages++;
    Promise.resolve()
      .then(() => handler!(request))
      .then(
        (reply) => {
          if (closed || reply.length === 0) return; // NO_REPLY: a posted call
          const callId = new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(
            CALL_ID_OFFSET,
            true,
          );
          const waiter = pending.get(callId);
          pending.delete(callId);
          serverCounters.doorbells++;
          waiter?.resolve(reply);
        },
        () => {}, // a handler never throws by contract; a broken one must not break the pair
      );
  };

  const flush = () => {
    const sent = batch;
    batch = [];
    if (closed) return;
    clientCounters.doorbells++;
    for (const request of sent) {
      if (handler) deliver(request);
      else backlog.push(request);
    }
  };

  const close = (reason: VrdmaError) => {
    if (closed) return;
    closed = reason;
    for (const waiter of pending.values()) waiter.reject(reason);
    pending.clear();
    for (const listener of [...clientListeners, ...serverListeners]) listener(reason);
  };

  const metricsOf = (c: Counters): TransportMetrics => ({
    get messages() {
      return c.messages;
    },
    get doorbells() {
      return c.doorbells;
    },
  });

  const client: ClientTransport = {
    metrics: metricsOf(clientCounters),
    call(request, info) {
      if (closed)
        return Promise.reject(
          new VrdmaError('DISCONNECTED', `transport closed: ${closed.message}`),
        );
      return new Promise<Uint8Array>((resolve, reject) => {
        pending.set(info.callId, { resolve, reject });
        clientCounters.messages++;
        if (batch.length === 0) queueMicrotask(flush);
        batch.push(request);
      });
    },
    onDisconnect: (listener) => void clientListeners.push(listener),
    close: async () => close(new VrdmaError('DISCONNECTED', 'the guest closed its transport')),
  };

  const server: ServerTransport = {
    metrics: metricsOf(serverCounters),
    serve(next) {
      handler = next;
      const queued = backlog;
      backlog = [];
      for (const request of queued) deliver(request);
    },
    onDisconnect: (listener) => void serverListeners.push(listener),
    close: async () => close(new VrdmaError('DISCONNECTED', 'the host closed the transport')),
  };

  return { client, server };
}

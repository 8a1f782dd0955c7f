import type { TransportMetrics } from '@vrdma/api-spec';
import type { TransportCounters } from '../workloads/requests.js';

/**
 * A guest's own transport counters, read from its connection's metrics (`device.connection`).
 * Unimem has data-plane calls, so its connection always has a data plane.
 */
export function transportCounters(connection: {
  readonly metrics: { control: TransportMetrics; data?: TransportMetrics };
}): TransportCounters {
  const { control, data } = connection.metrics;
  if (!data) throw new Error('this connection has no data plane to count');
  return {
    control: { messages: control.messages, doorbells: control.doorbells },
    data: { messages: data.messages, doorbells: data.doorbells },
  };
}

import type { ClientTransport, Link } from '@vrdma/api-spec';

/** A link that sends each call over the transport of its plane, as the spec marks it. */
export function createPlaneRouter(transports: {
  control: ClientTransport;
  data: ClientTransport;
}): Link {
  const { control, data } = transports;
  return {
    call: (request, info) => (info.fn.plane === 'data' ? data : control).call(request, info),
  };
}

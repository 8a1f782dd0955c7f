import { type ClientTransport, type Link, VrdmaError } from '@vrdma/api-spec';

/** A link that sends each call over the transport of its plane, as the spec marks it. */
export function createPlaneRouter(transports: {
  control: ClientTransport;
  data?: ClientTransport;
}): Link {
  const { control, data } = transports;
  return {
    call: (request, info) => {
      if (info.fn.plane !== 'data') return control.call(request, info);
      if (!data)
        return Promise.reject(
          new VrdmaError(
            'TRANSPORT',
            `${info.fn.name} is a data-plane call and there is no data plane`,
          ),
        );
      return data.call(request, info);
    },
  };
}

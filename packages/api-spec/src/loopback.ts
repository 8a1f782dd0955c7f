import type { Dispatcher } from './dispatcher.js';
import type { Link } from './link.js';

/**
 * An in-process link straight into a dispatcher: the whole wire path (encode, validate,
 * dispatch, encode the reply, decode) with no transport. For tests, and as the baseline that
 * isolates the cost of remoting from the cost of a transport.
 */
export function createLoopbackLink(dispatcher: Dispatcher): Link {
  return { call: (request) => dispatcher.handle(request) };
}

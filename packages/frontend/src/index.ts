export {
  type ConnectInWorkerOptions,
  connectInWorker,
} from './attach/connect-in-worker.js';
export { type ConnectToHostOptions, connectToHost } from './attach/connect-to-host.js';
export { type Connection, type ConnectOptions, connect } from './connect.js';
export { createPlaneRouter } from './plane-router.js';

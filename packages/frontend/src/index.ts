export {
  type Connection,
  type ConnectOptions,
  connect,
  connectUnimem,
  type RemoteUnimemSession,
} from './connect.js';
export { createPlaneRouter } from './plane-router.js';

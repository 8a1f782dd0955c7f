export { type Connection, type ConnectOptions, connect } from './connect.js';
export { createPlaneRouter } from './plane-router.js';

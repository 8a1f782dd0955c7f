export {
  type ConnectFromVmOptions,
  connectFromVm,
} from './attach/connect-from-vm.js';
export {
  type ConnectInWorkerOptions,
  connectInWorker,
} from './attach/connect-in-worker.js';
export { type ConnectToHostOptions, connectToHost } from './attach/connect-to-host.js';
export { VirtioPort, whenVirtioPortsIdle } from './attach/virtio-port.js';
export { findIvshmemBar, findVirtioPort, VRDMA_PORT_NAME } from './attach/vm-devices.js';
export { type Connection, type ConnectOptions, connect } from './connect.js';
export { createPlaneRouter } from './plane-router.js';

export { DEFAULT_VERBS_LIMITS, type VerbsDeviceLimits } from './limits.js';
export { QpDirectory } from './qp-directory.js';
export { VerbsDevice } from './verbs-device.js';
export {
  createLocalVerbsFabric,
  type LocalVerbsFabricOptions,
  type VerbsFabric,
  verbsFabricOver,
} from './verbs-fabric.js';

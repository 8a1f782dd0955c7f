export {
  type LibfabricConfig,
  type LibfabricConfigInput,
  libfabricConfigSchema,
  limitsOf,
  PROVIDER_ALIASES,
  providerName,
} from './config.js';
export { type ControlMessage, controlMessage, type PeerLink } from './control-messages.js';
export {
  createLocalLibfabricCluster,
  LocalLibfabricCluster,
  type LocalLibfabricClusterOptions,
} from './local-cluster.js';
export { ADDON_PATH_VARIABLE, MISSING_LIBFABRIC } from './native.js';
export { LibfabricNode } from './node.js';
export { LibfabricSession } from './session.js';

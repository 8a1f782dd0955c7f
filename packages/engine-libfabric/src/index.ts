export {
  type ClusterFile,
  type ClusterMember,
  clusterFileSchema,
  loadClusterFile,
  parseClusterFile,
} from './bootstrap/cluster-file.js';
export {
  type LibfabricTcpNode,
  type StartLibfabricNodeOptions,
  startLibfabricNode,
} from './bootstrap/tcp-node.js';
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

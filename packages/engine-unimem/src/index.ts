export { type Access, BufferRecord } from './buffer-record.js';
export {
  type ClusterConfig,
  type ClusterConfigInput,
  clusterConfigSchema,
  loadClusterConfig,
  parseClusterConfig,
} from './cluster-config.js';
export {
  DEFAULT_BUFFER_ALIGN,
  DEFAULT_ENGINE_CONFIG,
  type EngineConfig,
  type EngineConfigInput,
  type EngineLimits,
  engineConfigSchema,
  limitsOf,
  resolveEngineConfig,
} from './config.js';
export type { DmaStats } from './dma-engine.js';
export { MessageReader, type PayloadSink } from './fabric/message-reader.js';
export { type PeerAddress, PeerLink } from './fabric/peer-link.js';
export {
  decodeHeader,
  encodeHeader,
  HEADER_SIZE,
  type Header,
  MessageType,
  PROTOCOL_MAGIC,
  PROTOCOL_VERSION,
  ProtocolError,
} from './fabric/protocol.js';
export { TcpFabric } from './fabric/tcp-fabric.js';
export type {
  Admission,
  Fabric,
  LinkOperation,
  MemoryOwner,
  RemoteFailure,
  RemoteLink,
  Route,
} from './fabric.js';
export { createLocalCluster, LocalCluster, type LocalClusterOptions } from './local-cluster.js';
export { UnimemNode } from './node.js';
export { UnimemSessionImpl } from './session.js';
export { startTcpNode, type TcpNode, type TcpNodeOptions } from './tcp-node.js';

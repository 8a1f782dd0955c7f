import {
  createLocalLibfabricCluster,
  type LibfabricConfigInput,
  loadClusterFile,
  startLibfabricNode,
} from '@vrdma/engine-libfabric';
import type { UnimemEngine } from '@vrdma/unimem-api';
import type { Output } from './output.js';

/** How long a host waits for its cluster to connect before it serves anyway. */
const CLUSTER_WAIT_MS = 30_000;

export interface LibfabricEngineOptions {
  /** `tcp` (tcp;ofi_rxm), `shm`, `verbs`, `efa` or an fi_info provider name. */
  provider?: string;
  /** engine-libfabric cluster file: this host is one node of it. */
  cluster?: string;
  node?: number;
  /** Nodes in this process when there is no cluster file. */
  nodes: number;
}

export interface StartedEngine {
  engine: UnimemEngine;
  shutdown(): Promise<void>;
  where: string;
}

/**
 * The host's engine on libfabric: one node of a cluster joined by TCP control connections, or
 * (without a cluster file) nodes in this process over loopback.
 */
export async function startLibfabricEngine(
  options: LibfabricEngineOptions,
  out: Output,
): Promise<StartedEngine> {
  if (options.cluster) {
    if (options.node === undefined) throw new Error('--cluster needs --node <id>');
    const file = loadClusterFile(options.cluster);
    const cluster = { ...file, provider: options.provider ?? file.provider };
    const started = await startLibfabricNode({ node: options.node, cluster });
    await started.whenConnected(CLUSTER_WAIT_MS).catch((error: Error) => out.note(error.message));
    return {
      engine: started.engine,
      shutdown: () => started.close(),
      where: `node ${options.node} of a ${cluster.nodes.length}-node libfabric cluster (${started.engine.provider})`,
    };
  }
  const config: LibfabricConfigInput = { provider: options.provider ?? 'tcp', iface: 'lo' };
  const nodes = Array.from({ length: options.nodes }, (_, i) => i);
  const cluster = createLocalLibfabricCluster({ nodes, config });
  const engine = cluster.node(options.node ?? 0);
  return {
    engine,
    shutdown: () => cluster.shutdown(),
    where: `node ${engine.node} of ${options.nodes} libfabric nodes in this process (${engine.provider})`,
  };
}

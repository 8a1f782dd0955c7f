import { type ClusterConfigInput, parseClusterConfig } from './cluster-config.js';
import type { EngineConfigInput } from './config.js';
import { fabricKey } from './fabric/handshake.js';
import { RefusalLog } from './fabric/refusal-log.js';
import { TcpFabric } from './fabric/tcp-fabric.js';
import { UnimemNode } from './node.js';

export interface TcpNodeOptions {
  /** The cluster: node ids and addresses (validated). */
  cluster: ClusterConfigInput | unknown;
  /** Which node of the cluster this process is. */
  node: number;
  /** Local overrides of the cluster's engine configuration. */
  config?: EngineConfigInput;
  /**
   * The secret every node of the cluster shares, which authenticates nodes to each other
   * (overrides the cluster config's `secret`). Without one on either side, only nodes without
   * one either can join: anything that reaches the port.
   */
  secret?: string;
  /** Where the node says why it refused a peer, one line each (default: stderr). */
  log?: (line: string) => void;
}

/** A node of a cluster spread over processes or hosts, joined by the TCP fabric. */
export interface TcpNode {
  readonly engine: UnimemNode;
  readonly fabric: TcpFabric;
  /** Resolves once the peers (default: all) are reachable; rejects after `timeoutMs`. */
  waitForPeers(timeoutMs: number, nodes?: number[]): Promise<void>;
  /** Closes every session, stops the DMA engine and the fabric. */
  shutdown(): Promise<void>;
}

/** Starts one node: it listens at its address and dials its peers (again if they go away). */
export async function startTcpNode(options: TcpNodeOptions): Promise<TcpNode> {
  const cluster = parseClusterConfig(options.cluster);
  if (!cluster.nodes.some((n) => n.id === options.node))
    throw new RangeError(`node ${options.node} is not in the cluster config`);
  let fabric!: TcpFabric;
  const engine = new UnimemNode(options.node, { ...cluster.engine, ...options.config }, (self) => {
    fabric = new TcpFabric(cluster, self, self.config, {
      key: fabricKey(options.secret ?? cluster.secret),
      log: new RefusalLog(options.log ?? ((line) => process.stderr.write(`${line}\n`))),
    });
    return fabric;
  });
  try {
    await fabric.start();
  } catch (error) {
    await fabric.close();
    await engine.shutdown();
    throw error;
  }
  return {
    engine,
    fabric,
    waitForPeers: (timeoutMs, nodes) => fabric.waitForPeers(timeoutMs, nodes),
    shutdown: async () => {
      await engine.shutdown();
      await fabric.close();
    },
  };
}

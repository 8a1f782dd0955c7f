import type { LibfabricConfigInput } from './config.js';
import type { ControlMessage, PeerLink } from './control-messages.js';
import { LibfabricNode } from './node.js';

export interface LocalLibfabricClusterOptions {
  nodes: number[];
  config?: LibfabricConfigInput;
}

/**
 * Nodes in one process, each with its own libfabric fabric, domain and endpoint; their
 * control connections are in-memory links (messages delivered on a later microtask, as a
 * socket would), their data goes through libfabric.
 */
export class LocalLibfabricCluster {
  readonly nodes: LibfabricNode[];

  constructor(options: LocalLibfabricClusterOptions) {
    this.nodes = options.nodes.map((id) => new LibfabricNode(id, options.config));
    for (const a of this.nodes)
      for (const b of this.nodes) if (a !== b) a.attachPeer(b.node, b.name, linkTo(a, b));
  }

  node(id: number): LibfabricNode {
    const found = this.nodes.find((n) => n.node === id);
    if (!found) throw new RangeError(`no node ${id} in this cluster`);
    return found;
  }

  async shutdown(): Promise<void> {
    for (const node of this.nodes) await node.shutdown();
  }
}

function linkTo(from: LibfabricNode, to: LibfabricNode): PeerLink {
  let open = true;
  return {
    send(message: ControlMessage) {
      if (open) queueMicrotask(() => to.onControlMessage(from.node, message));
    },
    close() {
      if (!open) return;
      open = false;
      queueMicrotask(() => to.detachPeer(from.node));
    },
  };
}

export function createLocalLibfabricCluster(
  options: LocalLibfabricClusterOptions,
): LocalLibfabricCluster {
  return new LocalLibfabricCluster(options);
}

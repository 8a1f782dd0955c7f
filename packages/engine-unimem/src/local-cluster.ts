import { makeGlobalAddress } from '@vrdma/unimem-api';
import type { EngineConfigInput } from './config.js';
import type { Fabric, Route } from './fabric.js';
import { UnimemNode } from './node.js';

export interface LocalClusterOptions {
  /** Node ids (default [0, 1]). */
  nodes?: number[];
  /** The engine configuration every node shares. */
  config?: EngineConfigInput;
}

/**
 * Nodes in one process sharing one global address space: a node's DMA engine copies straight
 * into another node's memory (the interconnect costs nothing but the copy itself).
 */
export class LocalCluster {
  private readonly byId = new Map<number, UnimemNode>();
  private readonly routes = new Map<number, Route>();

  constructor(options: LocalClusterOptions = {}) {
    const ids = options.nodes ?? [0, 1];
    const fabric: Fabric = {
      members: () => [...this.byId.keys()],
      isUp: (node) => this.byId.get(node)?.up === true,
      route: (node): Route | undefined => this.routes.get(node),
    };
    for (const id of ids) {
      if (this.byId.has(id)) throw new RangeError(`node ${id} appears twice`);
      makeGlobalAddress(id, 0); // validates the node id
      const node = new UnimemNode(id, options.config ?? {}, () => fabric);
      this.byId.set(id, node);
      this.routes.set(id, { kind: 'memory', owner: node });
    }
    const maxNodes = this.nodes[0]?.config.maxNodes ?? 0;
    if (ids.length > maxNodes)
      throw new RangeError(`${ids.length} nodes exceed the engine's maximum of ${maxNodes}`);
  }

  get nodes(): UnimemNode[] {
    return [...this.byId.values()];
  }

  node(id: number): UnimemNode {
    const node = this.byId.get(id);
    if (!node) throw new RangeError(`node ${id} is not in this cluster`);
    return node;
  }

  /** Simulates a node failure (its transfers end as 'node-down') or its return. */
  setNodeDown(id: number, down: boolean): void {
    this.node(id).setUp(!down);
  }

  /** Shuts every node down: sessions closed, engines stopped. */
  async shutdown(): Promise<void> {
    for (const node of this.nodes) await node.shutdown();
  }
}

export function createLocalCluster(options?: LocalClusterOptions): LocalCluster {
  return new LocalCluster(options);
}

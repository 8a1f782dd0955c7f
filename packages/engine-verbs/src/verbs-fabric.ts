import { createLocalCluster, type EngineConfigInput } from '@vrdma/engine-unimem';
import type { UnimemEngine } from '@vrdma/unimem-api';
import type { VerbsDeviceLimits } from './limits.js';
import { QpDirectory } from './qp-directory.js';
import { VerbsDevice } from './verbs-device.js';

export interface VerbsFabric {
  readonly devices: VerbsDevice[];
  device(node: number): VerbsDevice;
  shutdown(): Promise<void>;
}

/** Verbs devices over Unimem engines (any implementation of the Unimem contract), one fabric. */
export function verbsFabricOver(
  engines: readonly UnimemEngine[],
  limits?: Partial<VerbsDeviceLimits>,
): VerbsDevice[] {
  const directory = new QpDirectory();
  return engines.map((engine) => new VerbsDevice(engine, directory, limits));
}

export interface LocalVerbsFabricOptions {
  /** Node ids (default [0, 1]). */
  nodes?: number[];
  /** The Unimem engine configuration every node shares. */
  engine?: EngineConfigInput;
  limits?: Partial<VerbsDeviceLimits>;
}

/** An emulated Unimem cluster in this process, with a verbs device on every node. */
export function createLocalVerbsFabric(options: LocalVerbsFabricOptions = {}): VerbsFabric {
  const cluster = createLocalCluster({ nodes: options.nodes ?? [0, 1], config: options.engine });
  const devices = verbsFabricOver(cluster.nodes, options.limits);
  return {
    devices,
    device(node) {
      const found = devices.find((d) => d.node === node);
      if (!found) throw new RangeError(`node ${node} is not in this fabric`);
      return found;
    },
    shutdown: () => cluster.shutdown(),
  };
}

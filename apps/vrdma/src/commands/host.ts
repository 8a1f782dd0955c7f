import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  auditPrinter,
  createHost,
  type HostConfigInput,
  type HostListener,
  hostConfigSchema,
  listen,
  service,
} from '@vrdma/backend';
import {
  clusterConfigSchema,
  createLocalCluster,
  type EngineConfigInput,
  engineConfigSchema,
  startTcpNode,
} from '@vrdma/engine-unimem';
import { type UnimemEngine, unimemSpec } from '@vrdma/unimem-api';
import { z } from 'zod';
import { readJsonFile } from './json-file.js';
import { startLibfabricEngine } from './libfabric-engine.js';
import type { Output } from './output.js';

export function defaultSocketPath(): string {
  return join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), 'vrdma.sock');
}

export interface HostCommandOptions {
  socket: string;
  config?: string;
  nodes: number;
  cluster?: string;
  node?: number;
  /** Unimem's kinds by their flags, bytes of buffers and calls in flight, per guest. */
  quotas: { buffers?: number; bytes?: number; channels?: number; keys?: number; calls?: number };
  weights: Record<string, number>;
  leaseMs?: number;
  /** `unimem` (the emulated engine, default) or `libfabric`. */
  engine?: 'unimem' | 'libfabric';
  /** libfabric provider (`tcp`, `shm`, ...), with `engine: 'libfabric'`. */
  provider?: string;
}

// Strict at every level: a misspelt key is refused by name, never silently ignored.
const configFileSchema = z.strictObject({
  host: hostConfigSchema.optional(),
  engine: engineConfigSchema.strict().optional(),
});

/**
 * `vrdma host`: a long-running host (backend + emulated engine node) that guests in other
 * processes attach to through a socket. Resolves with the exit code once SIGINT or SIGTERM
 * has shut it down cleanly (every guest gets a clear DISCONNECTED).
 */
export async function runHost(
  options: HostCommandOptions,
  out: Output,
  signals: NodeJS.EventEmitter = process,
): Promise<number> {
  const file = options.config ? readJsonFile(options.config, 'config file', configFileSchema) : {};
  const hostConfig: HostConfigInput = {
    ...file.host,
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
  };
  const { buffers, channels, keys, bytes, calls } = options.quotas;
  const kinds = { Buffer: buffers, Channel: channels, Key: keys };
  hostConfig.quotas = {
    ...hostConfig.quotas,
    kinds: { ...hostConfig.quotas?.kinds, ...definedOnly(kinds) },
    ...definedOnly({ bytes, calls }),
  };
  hostConfig.weights = { ...hostConfig.weights, ...options.weights };
  const engineConfig: EngineConfigInput | undefined = file.engine;

  let engine: UnimemEngine;
  let shutdownEngine: () => Promise<void>;
  let where: string;
  if (options.engine === 'libfabric') {
    ({ engine, shutdown: shutdownEngine, where } = await startLibfabricEngine(options, out));
  } else if (options.cluster) {
    if (options.node === undefined) throw new Error('--cluster needs --node <id>');
    const cluster = readJsonFile(options.cluster, 'cluster file', clusterConfigSchema);
    const node = await startTcpNode({ cluster, node: options.node, config: engineConfig });
    engine = node.engine;
    shutdownEngine = () => node.shutdown();
    where = `node ${options.node} of a ${cluster.nodes.length}-node TCP cluster`;
  } else {
    const nodes = Array.from({ length: options.nodes }, (_, i) => i);
    const cluster = createLocalCluster({ nodes, config: engineConfig });
    engine = cluster.node(options.node ?? 0);
    shutdownEngine = () => cluster.shutdown();
    where = `node ${options.node ?? 0} of ${options.nodes} emulated nodes`;
  }

  const host = createHost({
    services: [service(unimemSpec, engine)],
    config: hostConfig,
    // Refusals a guest causes are printed rationed per guest; `stats` shows the full record.
    onAudit: auditPrinter((line) => out.note(line)),
  });
  let listener: HostListener;
  try {
    listener = await listen(host, {
      path: options.socket,
      onRefuse: ({ reason, label }) =>
        out.note(`refused: ${label ? `guest ${label}` : 'a connection'}: ${reason}`),
    });
  } catch (error) {
    // The path was refused (a file, a live host, no such folder): stop what was started, so
    // that the one-line error is all that happens.
    await host.close();
    await shutdownEngine();
    throw error;
  }
  out.line(`vrdma host listening on ${options.socket} (${where}); stop with Ctrl-C`);

  const signal = await new Promise<string>((resolve) => {
    signals.once('SIGINT', () => resolve('SIGINT'));
    signals.once('SIGTERM', () => resolve('SIGTERM'));
  });
  out.line(`${signal}: shutting down`);
  await host.close();
  await listener.close();
  await shutdownEngine();
  out.line('host stopped');
  return 0;
}

function definedOnly<T extends Record<string, number | undefined>>(
  values: T,
): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Record<
    string,
    number
  >;
}

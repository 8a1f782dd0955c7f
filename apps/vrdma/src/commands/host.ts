import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  auditPrinter,
  createHost,
  type HostConfigInput,
  type HostListener,
  hostConfigSchema,
  listen,
  type OperatorListener,
  serveOperator,
  type WeightGrant,
} from '@vrdma/backend';
import {
  clusterConfigSchema,
  createLocalCluster,
  type EngineConfigInput,
  engineConfigSchema,
  startTcpNode,
} from '@vrdma/engine-unimem';
import type { UnimemEngine } from '@vrdma/unimem-api';
import { z } from 'zod';
import { HOST_APIS, type HostApi, hostServices } from './host-services.js';
import { readJsonFile } from './json-file.js';
import { startLibfabricEngine } from './libfabric-engine.js';
import type { Output } from './output.js';

export function defaultSocketPath(): string {
  return join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), 'vrdma.sock');
}

/** Where operators read a host's stats: beside its guests' socket, and apart from it. */
export function operatorSocketPath(socket: string): string {
  return `${socket}.operator`;
}

export interface HostCommandOptions {
  socket: string;
  /** The operator socket (default: `<socket>.operator`). */
  operatorSocket?: string;
  /** The guests' socket's permissions (default 0o600). */
  socketMode?: number;
  config?: string;
  nodes: number;
  cluster?: string;
  node?: number;
  /** The fabric's shared secret (overrides the cluster file's). */
  fabricSecret?: string;
  /** Unimem's kinds by their flags, bytes of buffers and calls in flight, per guest. */
  quotas: { buffers?: number; bytes?: number; channels?: number; keys?: number; calls?: number };
  /** Weights granted to guests that present the token of a digest. */
  weightGrants: WeightGrant[];
  leaseMs?: number;
  /** The APIs served (default: every one of HOST_APIS). */
  apis?: readonly HostApi[];
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
  hostConfig.weightGrants = [...(hostConfig.weightGrants ?? []), ...options.weightGrants];
  const engineConfig: EngineConfigInput | undefined = file.engine;

  let engine: UnimemEngine;
  let shutdownEngine: () => Promise<void>;
  let where: string;
  if (options.engine === 'libfabric') {
    ({ engine, shutdown: shutdownEngine, where } = await startLibfabricEngine(options, out));
  } else if (options.cluster) {
    if (options.node === undefined) throw new Error('--cluster needs --node <id>');
    const cluster = readJsonFile(options.cluster, 'cluster file', clusterConfigSchema);
    const secret = options.fabricSecret ?? cluster.secret;
    if (secret === undefined)
      out.note(
        'fabric: no secret (--fabric-secret, VRDMA_FABRIC_SECRET or the cluster file): any process that reaches the port joins as a node',
      );
    const node = await startTcpNode({
      cluster,
      node: options.node,
      config: engineConfig,
      secret,
      log: (line) => out.note(line),
    });
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
    services: hostServices(engine, options.apis ?? HOST_APIS),
    config: hostConfig,
    // Refusals a guest causes are printed rationed per guest; `stats` shows the full record.
    onAudit: auditPrinter((line) => out.note(line)),
  });
  let listener: HostListener;
  let operator: OperatorListener;
  const operatorPath = options.operatorSocket ?? operatorSocketPath(options.socket);
  try {
    listener = await listen(host, {
      path: options.socket,
      mode: options.socketMode,
      onRefuse: ({ reason, label }) =>
        out.note(`refused: ${label ? `guest ${label}` : 'a connection'}: ${reason}`),
    });
    operator = await serveOperator(host, { path: operatorPath }).catch(async (error) => {
      await listener.close();
      throw error;
    });
  } catch (error) {
    // The path was refused (a file, a live host, no such folder): stop what was started, so
    // that the one-line error is all that happens.
    await host.close();
    await shutdownEngine();
    throw error;
  }
  out.line(
    `vrdma host listening on ${options.socket} (${where}; serves ${host.serves}); stop with Ctrl-C`,
  );
  out.note(`stats for operators on ${operatorPath}`);

  const signal = await new Promise<string>((resolve) => {
    signals.once('SIGINT', () => resolve('SIGINT'));
    signals.once('SIGTERM', () => resolve('SIGTERM'));
  });
  out.line(`${signal}: shutting down`);
  await host.close();
  await listener.close();
  await operator.close();
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

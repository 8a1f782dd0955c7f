import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { engineConfigSchema } from './config.js';

const nodeEntry = z.object({
  /** The node id: the top 16 bits of every global address of this node. */
  id: z.number().int().min(0).max(0xffff),
  /** Where the node listens for its peers. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65_535),
});

/**
 * A cluster: its nodes and where each listens, and optionally the engine configuration every
 * node uses (a node may still override it locally). Validated at the trust boundary: a file
 * or another process wrote it.
 */
export const clusterConfigSchema = z
  .object({
    nodes: z.array(nodeEntry).min(1),
    engine: engineConfigSchema.partial().optional(),
    /**
     * The secret every node shares: nodes prove to each other that they hold it (HMAC-SHA256
     * challenge-response) before any transfer. Keep the file private; at least 16 characters.
     */
    secret: z.string().min(16).max(1024).optional(),
  })
  .superRefine((cluster, ctx) => {
    const ids = new Set<number>();
    const endpoints = new Set<string>();
    for (const node of cluster.nodes) {
      if (ids.has(node.id))
        ctx.addIssue({ code: 'custom', message: `node ${node.id} appears twice`, path: ['nodes'] });
      const endpoint = `${node.host}:${node.port}`;
      if (endpoints.has(endpoint))
        ctx.addIssue({ code: 'custom', message: `${endpoint} is used twice`, path: ['nodes'] });
      ids.add(node.id);
      endpoints.add(endpoint);
    }
    const maxNodes = cluster.engine?.maxNodes ?? engineConfigSchema.shape.maxNodes.parse(undefined);
    if (cluster.nodes.length > maxNodes) {
      ctx.addIssue({
        code: 'custom',
        message: `${cluster.nodes.length} nodes exceed the engine's maximum of ${maxNodes}`,
        path: ['nodes'],
      });
    }
  });

export type ClusterConfig = z.output<typeof clusterConfigSchema>;
export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;

/** Validates a cluster description; RangeError naming the first problem otherwise. */
export function parseClusterConfig(input: unknown): ClusterConfig {
  const parsed = clusterConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RangeError(`cluster config: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads and validates a cluster description from a JSON file. */
export function loadClusterConfig(path: string): ClusterConfig {
  return parseClusterConfig(JSON.parse(readFileSync(path, 'utf8')));
}

import { readFileSync } from 'node:fs';
import { VrdmaError } from '@vrdma/api-spec';
import { z } from 'zod';

/**
 * A cluster file: which nodes make the cluster and where each one's control connection
 * listens. Data never goes through these addresses; they carry hellos (the libfabric
 * endpoint name), export/revoke announcements and kicks. Example:
 *
 *   { "provider": "tcp", "iface": "lo",
 *     "nodes": [ { "node": 0, "control": "127.0.0.1:7100" },
 *                { "node": 1, "control": "127.0.0.1:7101" } ] }
 */
export const clusterFileSchema = z
  .object({
    provider: z.string().min(1).max(63).default('tcp'),
    iface: z.string().min(1).max(31).optional(),
    nodes: z
      .array(
        z.object({
          node: z.number().int().min(0).max(0xfffe),
          control: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'control must be host:port'),
        }),
      )
      .min(1)
      .max(1024),
  })
  .refine((c) => new Set(c.nodes.map((n) => n.node)).size === c.nodes.length, {
    message: 'node ids must be unique',
  });

export type ClusterFile = z.infer<typeof clusterFileSchema>;
export type ClusterMember = ClusterFile['nodes'][number];

export function parseClusterFile(input: unknown): ClusterFile {
  const parsed = clusterFileSchema.safeParse(input);
  if (!parsed.success)
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `cluster file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export function loadClusterFile(path: string): ClusterFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new VrdmaError('INVALID_ARGUMENT', `cannot read cluster file ${path}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new VrdmaError('INVALID_ARGUMENT', `cluster file ${path} is not JSON`, { cause: error });
  }
  return parseClusterFile(json);
}

export function splitHostPort(control: string): { host: string; port: number } {
  const at = control.lastIndexOf(':');
  return { host: control.slice(0, at), port: Number(control.slice(at + 1)) };
}

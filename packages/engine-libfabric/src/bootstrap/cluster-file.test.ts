import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { loadClusterFile, parseClusterFile } from './cluster-file.js';

describe('the cluster file', () => {
  it('reads nodes and control addresses, with tcp as the default provider', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrdma-lf-cluster-'));
    try {
      const path = join(dir, 'cluster.json');
      writeFileSync(path, JSON.stringify({ nodes: [{ node: 3, control: '127.0.0.1:7100' }] }));
      expect(loadClusterFile(path)).toEqual({
        provider: 'tcp',
        nodes: [{ node: 3, control: '127.0.0.1:7100' }],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses duplicate nodes and addresses without a port, saying where', () => {
    for (const bad of [
      {
        nodes: [
          { node: 1, control: 'a:1' },
          { node: 1, control: 'b:2' },
        ],
      },
      { nodes: [{ node: 1, control: 'localhost' }] },
      { nodes: [] },
    ]) {
      let caught: unknown;
      try {
        parseClusterFile(bad);
      } catch (error) {
        caught = error;
      }
      expect(isVrdmaError(caught, 'INVALID_ARGUMENT')).toBe(true);
      expect((caught as Error).message).toMatch(/^cluster file: /);
    }
  });
});

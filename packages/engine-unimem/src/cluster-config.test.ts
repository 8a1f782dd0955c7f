import { describe, expect, it } from 'vitest';
import { parseClusterConfig } from './cluster-config.js';
import { DEFAULT_ENGINE_CONFIG, resolveEngineConfig } from './config.js';

describe('configuration', () => {
  it('documents its defaults', () => {
    expect(DEFAULT_ENGINE_CONFIG).toMatchObject({
      maxNodes: 64,
      maxTransfer: 64 * 1024 * 1024,
      maxChannels: 64,
      maxQueueDepth: 1024,
      defaultQueueDepth: 256,
      alignment: 1,
      linkBandwidth: 0,
    });
  });

  it('refuses impossible engine settings', () => {
    expect(() => resolveEngineConfig({ alignment: 3 })).toThrow(/power of two/);
    expect(() => resolveEngineConfig({ maxQueueDepth: 4, defaultQueueDepth: 8 })).toThrow(
      /defaultQueueDepth/,
    );
    expect(() => resolveEngineConfig({ maxTransfer: 0 })).toThrow(RangeError);
  });

  it('parses a cluster and fills in the host', () => {
    const cluster = parseClusterConfig({
      nodes: [
        { id: 0, port: 7000 },
        { id: 1, host: '127.0.0.1', port: 7001 },
      ],
      engine: { maxTransfer: 1024 },
    });
    expect(cluster.nodes[0]).toEqual({ id: 0, host: '127.0.0.1', port: 7000 });
    expect(cluster.engine?.maxTransfer).toBe(1024);
  });

  it('refuses duplicate ids or endpoints, bad ports, and too many nodes', () => {
    expect(() =>
      parseClusterConfig({
        nodes: [
          { id: 1, port: 7000 },
          { id: 1, port: 7001 },
        ],
      }),
    ).toThrow(/appears twice/);
    expect(() =>
      parseClusterConfig({
        nodes: [
          { id: 1, port: 7000 },
          { id: 2, port: 7000 },
        ],
      }),
    ).toThrow(/used twice/);
    expect(() => parseClusterConfig({ nodes: [{ id: 1, port: 70_000 }] })).toThrow(RangeError);
    expect(() => parseClusterConfig({ nodes: [{ id: 70_000, port: 7000 }] })).toThrow(RangeError);
    expect(() =>
      parseClusterConfig({
        nodes: [
          { id: 1, port: 7000 },
          { id: 2, port: 7001 },
        ],
        engine: { maxNodes: 1 },
      }),
    ).toThrow(/maximum of 1/);
    expect(() => parseClusterConfig('nodes')).toThrow(RangeError);
  });
});

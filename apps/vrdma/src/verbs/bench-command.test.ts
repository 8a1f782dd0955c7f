import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../testing/run-cli.js';
import { VERBS_CONTROL_CALLS } from './verbs-workloads.js';

describe('vrdma bench --api verbs', () => {
  it(
    'prints exactly one JSON object: bandwidth by size, control calls and kicks, native and remoted',
    async () => {
      const run = await runCli(['bench', '--api', 'verbs', '--quick', '--json'], 150_000);
      expect(run.code, run.stderr).toBe(0);
      // z.number() refuses NaN and ±Infinity: every figure is positive (or zero) and finite.
      const result = z
        .strictObject({
          machine: z.object({ engine: z.string(), guests: z.literal('worker threads') }).loose(),
          bandwidth: z
            .array(
              z.strictObject({
                size: z.number().int().positive(),
                nativeGBps: z.number().positive(),
                remotedGBps: z.number().positive(),
                ratio: z.number().positive(),
              }),
            )
            .length(4),
          control: z
            .array(
              z.strictObject({
                fn: z.enum(VERBS_CONTROL_CALLS),
                nativeUs: z.number().positive(),
                remotedUs: z.number().positive(),
                ratio: z.number().positive(),
              }),
            )
            .length(VERBS_CONTROL_CALLS.length),
          kicks: z.strictObject({
            perDataOp: z.number().min(0),
            perControlCall: z.number().min(0),
          }),
        })
        .parse(JSON.parse(run.stdout));
      expect(result.bandwidth.map((p) => p.size)).toEqual([64, 4096, 65_536, 1 << 20]);
      for (const p of result.bandwidth)
        expect(p.ratio).toBeCloseTo(p.remotedGBps / p.nativeGBps, 6);
      expect(result.machine.engine).toContain('engine-verbs');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

import { describe, expect, it } from 'vitest';
import { runFuzzCampaign } from './fuzz-campaign.js';

describe('a hostile guest against a real host, honest guests beside it', () => {
  it('gets typed refusals or is let go, while the host serves the others and keeps their bytes', async ({
    annotate,
  }) => {
    const report = await runFuzzCampaign({ runs: 8, seed: 5, maxSteps: 8 });
    await annotate(JSON.stringify(report));
    const failure = report.failure;
    expect(
      failure,
      failure &&
        `step ${failure.step} of run ${failure.path}: ${failure.message}; ${failure.action}; replay with npm run fuzz -- --runs 8 --seed 5 --path ${failure.path} --steps 8`,
    ).toBeUndefined();
    // The moves did reach the host, and it did refuse some: the run exercised something.
    expect(report.runs).toBe(8);
    // Hostile guests of every API the host serves.
    expect(Object.keys(report.byApi).sort()).toEqual(['unimem', 'verbs']);
    expect(report.steps).toBeGreaterThanOrEqual(8);
    const refusals = Object.entries(report.outcomes).filter(
      ([key]) => !['ok', 'gone', 'silent'].includes(key),
    );
    expect(refusals.length).toBeGreaterThan(0);
  }, 300_000);
});

import { describe, expect, it } from 'vitest';
import { runCrashCampaign } from './crash-campaign.js';

describe('guests killed and frozen at the worst moments', () => {
  it('leave nothing held on the host, and the others lose and corrupt nothing', async ({
    annotate,
  }) => {
    const report = await runCrashCampaign({
      rounds: 4,
      seed: 14,
      survivors: 1,
      moments: [
        'kill-mid-attach',
        'kill-mid-transfer',
        'freeze-holding-ring-then-continue',
        'freeze-holding-ring-then-kill',
      ],
    });
    await annotate(JSON.stringify(report));
    expect(report.problems).toEqual([]);
    expect(report.rounds).toBe(4);
    expect(report.kills).toBe(3);
    expect(report.freezes).toBe(2);
    // The survivor worked all along: its calls are what the host served meanwhile.
    expect(report.survivorOps).toBeGreaterThan(0);
  }, 600_000);
});

import { atomicsWakeChannel, Doorbell } from '@vrdma/memory';
import { describe, expect, it } from 'vitest';
import { MIN_SPIN_BUDGET_US, Poller } from './poller.js';

describe('Poller', () => {
  it('shrinks its spin budget while looking keeps ending in sleep, down to a floor', async () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const doorbell = new Doorbell(words, 0, 1, atomicsWakeChannel(words, 0, 1));
    let active = true;
    let looks = 0;
    const poller = new Poller(
      {
        step: () => false,
        hasWork: () => {
          looks++;
          return false;
        },
        active: () => active,
        failed: () => {},
      },
      doorbell,
      { spinBudgetUs: 512, sleepTimeoutMs: 1 },
    );
    expect(poller.spinBudgetUs).toBe(512);
    poller.kick();
    for (let i = 0; i < 200 && poller.spinBudgetUs > MIN_SPIN_BUDGET_US; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(poller.spinBudgetUs).toBe(MIN_SPIN_BUDGET_US);
    expect(looks).toBeGreaterThan(0);
    active = false;
    doorbell.close();
  });
});

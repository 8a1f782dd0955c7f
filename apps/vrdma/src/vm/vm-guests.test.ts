import { type AttachedGuest, createHost, type HostInterceptor, service } from '@vrdma/backend';
import { createLocalCluster } from '@vrdma/engine-unimem';
import { unimemSpec } from '@vrdma/unimem-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuestImage, type GuestImage } from './guest-image.js';
import { startVmGuest, type VmGuestRun } from './vm-guest-run.js';
import { findVmHostTools, type VmHostTools } from './vm-requirements.js';
import { proofPattern } from './vm-result.js';

// Booting two VMs under TCG takes about a minute on a quiet 2-core machine, several when busy.
const VM_TEST_MS = 6 * 60_000;

let tools: VmHostTools;
let image: GuestImage;
const runs: VmGuestRun[] = [];

beforeAll(async () => {
  // Without QEMU, a kernel and busybox this fails with one line naming the packages to install.
  tools = findVmHostTools();
  image = await buildGuestImage(tools);
}, 120_000);

afterAll(async () => {
  for (const run of runs) run.vm.kill();
  await Promise.all(runs.map((run) => run.vm.exited));
});

describe('QEMU virtual machines as guests over ivshmem', () => {
  it(
    'run the unchanged example guest in each, zero-copy, and one SIGKILLed mid-transfer leaves the other running and its ledger empty',
    async () => {
      const cluster = createLocalCluster({ nodes: [0, 1] });
      const writes = new Map<string, number>();
      let killedWhileSurvivorMidTransfer = false;
      let victim: VmGuestRun | undefined;
      let victimBusy: () => void = () => {};
      const victimWrites = new Promise<void>((resolve) => {
        victimBusy = resolve;
      });
      // Counts each guest's RDMA writes; at the survivor's third, with its write in flight,
      // the victim's QEMU is killed.
      const killer: HostInterceptor = (next) => (call) => {
        if (call.fn.name === 'write') {
          const count = (writes.get(call.guest.label) ?? 0) + 1;
          writes.set(call.guest.label, count);
          if (call.guest.label === 'vm-victim' && count === 10) victimBusy();
          if (call.guest.label === 'vm-survivor' && count === 3 && victim) {
            killedWhileSurvivorMidTransfer = victim.vm.qemu.kill('SIGKILL');
          }
        }
        return next(call);
      };
      const host = createHost({
        services: [service(unimemSpec, cluster.node(0))],
        interceptors: [killer],
      });
      try {
        const common = { qemu: tools.qemu, image, size: 64 * 1024, guestTimeoutMs: 300_000 };
        // The victim writes and reads back without end; the survivor starts only once the
        // victim is busy, so that both are mid-transfer when the victim dies.
        victim = await startVmGuest(host, { ...common, name: 'vm-victim', rounds: 1_000_000 });
        runs.push(victim);
        const survivor = await startVmGuest(host, {
          ...common,
          name: 'vm-survivor',
          rounds: 20,
          attachAfter: victimWrites,
        });
        runs.push(survivor);

        const victimGuest: AttachedGuest = await victim.attached;
        const gone = await victimGuest.departed;
        expect(killedWhileSurvivorMidTransfer).toBe(true);
        expect((await victim.vm.exited).signal).toBe('SIGKILL');
        expect(gone.ledger.held).toEqual({});
        expect(gone.ledger.bytes).toBe(0);
        expect(gone.ledger.calls).toBe(0);

        const outcome = await survivor.finished;
        expect(outcome, survivor.vm.console.slice(-5).join('\n')).toBeDefined();
        const { result } = outcome!;
        // Every round wrote, read back and compared each byte inside the VM.
        expect(result.ok).toBe(true);
        expect(result.rounds).toBe(20);
        expect(writes.get('vm-survivor')).toBe(21); // 20 rounds and the zero-copy proof
        expect(survivor.vm.console.filter((line) => line.includes('DIFFERENT'))).toEqual([]);
        // The engine wrote the VM's own memory: the host's mapping of the ivshmem backing
        // holds, at the guest's buffer offset, the bytes the guest saw appear in its BAR.
        expect(result.proof.sameInGuest).toBe(true);
        expect(outcome!.zeroCopySeenByHost).toBe(true);
        const { offset, length, seed } = result.proof;
        expect(
          Buffer.compare(
            survivor.memory.subarray(offset, offset + length),
            proofPattern(seed, length),
          ),
        ).toBe(0);
        // Each VM has a device of its own: the victim's memory never saw the survivor's bytes.
        expect(
          Buffer.compare(
            victim.memory.subarray(offset, offset + length),
            proofPattern(seed, length),
          ),
        ).not.toBe(0);
        expect((await survivor.vm.exited).code).toBe(0);
        const survivorGone = await (await survivor.attached).departed;
        expect(survivorGone.ledger.held).toEqual({});
      } finally {
        await host.close();
        await cluster.shutdown();
      }
    },
    VM_TEST_MS,
  );
});

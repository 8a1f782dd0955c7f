import { createHost, type Host, service } from '@vrdma/backend';
import { createLocalCluster } from '@vrdma/engine-unimem';
import { unimemSpec } from '@vrdma/unimem-api';
import { buildGuestImage } from '../vm/guest-image.js';
import { startVmGuest, type VmGuestOutcome } from '../vm/vm-guest-run.js';
import { findVmHostTools } from '../vm/vm-requirements.js';
import type { Output } from './output.js';

export interface VmCommandOptions {
  guests: number;
  size: number;
  rounds: number;
  /** Print every console line of every VM. */
  console?: boolean;
}

/** At most this many VMs boot at once: TCG takes a whole core per VM while it boots. */
const BOOTING_AT_ONCE = 2;

/**
 * `vrdma vm`: a host with an emulated two-node engine, and N QEMU virtual machines as its
 * guests, each running the example guest (write, read back, verify) from its initramfs,
 * attached through ivshmem and a virtio-serial port. Prints per VM its result, the kicks it
 * counted and its boot time; exits 1 if any VM failed.
 */
export async function runVm(options: VmCommandOptions, out: Output): Promise<number> {
  const tools = findVmHostTools();
  const imageStarted = performance.now();
  const image = await buildGuestImage(tools);
  out.note(
    `guest image ${image.built ? 'built' : 'found in the cache'} in ${Math.round(performance.now() - imageStarted)} ms: ${image.initramfs}`,
  );
  const cluster = createLocalCluster({ nodes: [0, 1] });
  const host = createHost({ services: [service(unimemSpec, cluster.node(0))] });
  let failed = 0;
  try {
    const names = Array.from({ length: options.guests }, (_, i) => `vm-${i + 1}`);
    for (let i = 0; i < names.length; i += BOOTING_AT_ONCE) {
      const batch = names.slice(i, i + BOOTING_AT_ONCE);
      const outcomes = await Promise.all(
        batch.map((name) => runOne(host, name, options, image, tools.qemu, out)),
      );
      failed += outcomes.filter((ok) => !ok).length;
    }
    const departed = host.departed();
    const leftovers = departed.filter((guest) => Object.keys(guest.ledger.held).length > 0);
    out.line(
      `host: ${departed.length} VM guests departed, ${leftovers.length === 0 ? 'every ledger empty' : `${leftovers.length} still holding objects`}`,
    );
    if (leftovers.length > 0) failed++;
  } finally {
    await host.close();
    await cluster.shutdown();
  }
  return failed === 0 ? 0 : 1;
}

async function runOne(
  host: Host,
  name: string,
  options: VmCommandOptions,
  image: Awaited<ReturnType<typeof buildGuestImage>>,
  qemu: string,
  out: Output,
): Promise<boolean> {
  const run = await startVmGuest(host, {
    name,
    qemu,
    image,
    size: options.size,
    rounds: options.rounds,
    onConsole: (vm, line) => {
      if (options.console || line.startsWith('guest ')) out.line(`[${vm}] ${line}`);
    },
  });
  const outcome = await run.finished;
  const guest = await run.attached.catch(() => undefined);
  const hostKicks = guest
    ? host.guests().find((g) => g.id === guest.id)?.metrics.transports
    : undefined;
  // A guest that printed its result powers off; one that hangs is not left behind.
  const hung = setTimeout(() => run.vm.kill(), outcome ? 60_000 : 0);
  await run.vm.exited;
  clearTimeout(hung);
  if (!outcome) {
    out.line(
      `${name}: FAILED, no result (last console lines: ${run.vm.console.slice(-3).join(' | ')})`,
    );
    return false;
  }
  out.line(describe(name, outcome, hostKicks !== undefined));
  return outcome.result.ok && outcome.zeroCopySeenByHost;
}

function describe(name: string, outcome: VmGuestOutcome, _attached: boolean): string {
  const { result } = outcome;
  return [
    `${name}: ${result.ok ? 'ok' : 'FAILED'}`,
    `${result.rounds} round(s) of ${result.size} bytes written and read back`,
    `kicks: ${result.kicks.control} control (${result.messages.control} control calls), ${result.kicks.data} data (${result.messages.data} data-plane messages)`,
    `zero-copy: ${outcome.zeroCopySeenByHost ? "the host's view of the VM's memory holds the engine's bytes" : 'NOT SEEN by the host'}`,
    `boot ${outcome.bootS !== undefined ? `${outcome.bootS.toFixed(1)} s (guest kernel)` : '?'}, ${(outcome.runMs / 1000).toFixed(1)} s from QEMU start to result`,
  ].join('; ');
}

import type { Host } from '@vrdma/backend';
import type { GuestHandle } from '../compose/guest-handle.js';
import { WorkloadClient } from '../compose/guest-rpc.js';
import { buildGuestImage, type GuestImage } from './guest-image.js';
import { startVmGuest } from './vm-guest-run.js';
import { findVmHostTools, type VmHostTools } from './vm-requirements.js';
import { decodeLine, encodeLine, splitLines, WORKLOAD_PORT_NAME } from './workload-lines.js';

let prepared: Promise<{ tools: VmHostTools; image: GuestImage }> | undefined;

/** The host's tools and the guest image, found and built once per process. */
function prepare(): Promise<{ tools: VmHostTools; image: GuestImage }> {
  prepared ??= (async () => {
    const tools = findVmHostTools();
    return { tools, image: await buildGuestImage(tools) };
  })();
  return prepared;
}

/**
 * A guest in a QEMU virtual machine, as the composition root holds guests: it boots the VM,
 * which attaches to `host` and then runs the workloads sent on its second virtio-serial port
 * (JSON lines), answering each as a thread or process guest does.
 */
export async function startVmBenchGuest(
  host: Host,
  options: { label: string; memoryBytes: number },
): Promise<GuestHandle> {
  const { tools, image } = await prepare();
  const run = await startVmGuest(host, {
    name: options.label,
    qemu: tools.qemu,
    image,
    size: 0,
    memoryBytes: options.memoryBytes,
    mode: 'serve',
    extraPorts: [WORKLOAD_PORT_NAME],
    guestTimeoutMs: 120_000,
  });
  const exited = run.vm.exited.then(() => {
    throw new Error(
      `VM ${options.label} ended: ${run.vm.console.slice(-8).join(' | ') || 'no console output'}`,
    );
  });
  exited.catch(() => {});
  const port = await Promise.race([run.vm.extraPorts.get(WORKLOAD_PORT_NAME)!, exited]);
  port.on('error', () => port.destroy());
  const client = new WorkloadClient((message) => port.write(encodeLine(message)));
  const ready = new Promise<void>((resolve) => {
    port.on(
      'data',
      splitLines((line) => {
        if (client.receive(decodeLine(line))) resolve();
      }),
    );
  });
  void run.vm.exited.then(() => client.failAll(new Error(`VM ${options.label} is gone`)));
  const attached = await Promise.race([run.attached, exited]);
  await Promise.race([ready, exited]);
  const end = async (signal: NodeJS.Signals) => {
    run.vm.kill(signal);
    await run.vm.exited;
    await attached.departed;
  };
  return {
    label: options.label,
    attached,
    run: (request) => client.run(request),
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

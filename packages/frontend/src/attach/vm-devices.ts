import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VrdmaError } from '@vrdma/api-spec';

/** QEMU's ivshmem as PCI ids (Red Hat's vendor id, the inter-VM shared memory device). */
const IVSHMEM = { vendor: '0x1af4', device: '0x1110' } as const;

/** The name a host gives the vrdma virtio-serial port (`virtserialport,name=…`). */
export const VRDMA_PORT_NAME = 'org.vrdma.doorbell';

/**
 * The sysfs file through which the VM's one ivshmem device's shared memory (BAR 2) is
 * mapped. Memory BARs take mmap only: read and write on that file do not work.
 */
export function findIvshmemBar(sysfs = '/sys'): string {
  const root = join(sysfs, 'bus/pci/devices');
  const found = safeList(root).filter((bdf) => {
    const id = (name: string) => readText(join(root, bdf, name));
    return id('vendor') === IVSHMEM.vendor && id('device') === IVSHMEM.device;
  });
  if (found.length !== 1)
    throw new VrdmaError(
      'DISCONNECTED',
      found.length === 0
        ? 'this machine has no ivshmem device: is it a VM the vrdma host booted?'
        : `this machine has ${found.length} ivshmem devices (${found.join(', ')}); name one`,
    );
  return join(root, found[0]!, 'resource2');
}

/** The device file of the virtio-serial port called `name` (`/dev/vportNpM`). */
export function findVirtioPort(name = VRDMA_PORT_NAME, sysfs = '/sys', dev = '/dev'): string {
  const root = join(sysfs, 'class/virtio-ports');
  for (const port of safeList(root)) {
    if (readText(join(root, port, 'name')) !== name) continue;
    const path = join(dev, port);
    if (existsSync(path)) return path;
    throw new VrdmaError('DISCONNECTED', `the port ${name} is ${port}, but ${path} does not exist`);
  }
  throw new VrdmaError(
    'DISCONNECTED',
    `no virtio-serial port called ${name} (is the virtio_console module loaded?)`,
  );
}

function safeList(folder: string): string[] {
  try {
    return readdirSync(folder).sort();
  } catch {
    return [];
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

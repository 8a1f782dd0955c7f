import { closeSync } from 'node:fs';
import { type Region, VrdmaError } from '@vrdma/api-spec';
import { mapWindows, nativeMemory, PAGE_SIZE, type RegionWindow } from '@vrdma/memory';
import {
  channelBytes,
  DEFAULT_RING_SHAPE,
  initChannel,
  type RingShape,
} from '@vrdma/transport-shm';
import { nextRegionIds } from './region-ids.js';

/** The virtqueue's window: its configuration block, rings and buffers for a 64-entry queue. */
const CONTROL_WINDOW_BYTES = 512 * 1024;
const MiB = 1024 * 1024;

/**
 * The one shared-memory device of a virtual machine guest, made by the host before the VM
 * boots (as a hypervisor owns guest RAM): a sealed memfd that QEMU maps as the backing of an
 * ivshmem BAR. It holds the guest's virtqueue, data-plane channel and buffers side by side;
 * the host maps each as a region of its own.
 */
export interface VmMemory {
  /** The memfd to give QEMU (`memory-backend-file,share=on,mem-path=/proc/self/fd/N`); -1 once closed. */
  readonly fd: number;
  /** Bytes of the device: a power of two, as a PCI BAR must be. */
  readonly size: number;
  /** Where each region lies in the device, as the welcome tells the guest. */
  readonly windows: { control: RegionWindow; data: RegionWindow; memory: RegionWindow };
  /** The host's mappings of the windows; `memory` is the guest's buffers, which the engine reads and writes. */
  readonly regions: { control: Region; data: Region; memory: Region };
  readonly shape: RingShape;
  /** Closes the host's descriptor once QEMU has it; the mappings stay. Idempotent. */
  closeFd(): void;
}

/**
 * Lays out and creates a VM's shared memory of `size` bytes (a power of two, at least 2 MiB):
 * the control window first, then the data-plane channel, then the guest's buffers to the end.
 */
export function createVmMemory(size: number, name = 'vrdma-vm'): VmMemory {
  if (!Number.isSafeInteger(size) || size < 2 * MiB || size > 2 ** 31 || (size & (size - 1)) !== 0)
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `a VM's shared memory is a power of two from 2 MiB to 2 GiB, not ${size} bytes`,
    );
  const shape = DEFAULT_RING_SHAPE;
  const ids = nextRegionIds();
  const dataOffset = CONTROL_WINDOW_BYTES;
  const dataSize = channelBytes(shape);
  const memoryOffset = alignUp(dataOffset + dataSize, PAGE_SIZE);
  if (memoryOffset >= size)
    throw new VrdmaError('INVALID_ARGUMENT', `${size} bytes leave no room for guest buffers`);
  const windows = {
    control: { id: ids.control, offset: 0, size: CONTROL_WINDOW_BYTES },
    data: { id: ids.data, offset: dataOffset, size: dataSize },
    memory: { id: ids.memory, offset: memoryOffset, size: size - memoryOffset },
  };
  const native = nativeMemory();
  let fd = native.createMemfd(name, size);
  try {
    const [control, data, memory] = mapWindows(fd, [windows.control, windows.data, windows.memory]);
    initChannel(data!.bytes.buffer, shape);
    return {
      get fd() {
        return fd;
      },
      size,
      windows,
      regions: { control: control!, data: data!, memory: memory! },
      shape,
      closeFd() {
        if (fd >= 0) closeSync(fd);
        fd = -1;
      },
    };
  } catch (error) {
    closeSync(fd);
    fd = -1;
    throw error;
  }
}

function alignUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

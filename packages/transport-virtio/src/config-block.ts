import { VrdmaError } from '@vrdma/api-spec';
import type { Features } from './features.js';
import type { QueueAddresses } from './layout.js';
import type { RingMemory } from './ring-memory.js';

/**
 * How a driver attaches to our device: a small configuration block at the start of the shared
 * region, modelled on virtio-mmio's registers (VIRTIO 1.2 §4.2.2) but living in memory.
 * All fields little-endian.
 *
 *    0  u32  magic 0x74726976 ("virt")            device
 *    4  u32  layout version (1)                   device
 *    8  u64  device features                      device
 *   16  u64  driver features                      driver
 *   24  u32  device status (§2.1 bits)            driver sets, device adds NEEDS_RESET
 *   28  u32  queue size max                       device
 *   32  u32  queue size                           driver
 *   36  u32  fault: why NEEDS_RESET was set       device
 *   40  u64  descriptor table address            driver
 *   48  u64  available ring address              driver
 *   56  u64  used ring address                   driver
 *   64  u32  kick doorbell word (threads)
 *   68  u32  interrupt doorbell word (threads)
 *   72..127  reserved, zero
 *
 * Addresses are offsets into the region. The driver owns everything after the block.
 */
export const CONFIG_MAGIC = 0x74726976;
export const CONFIG_VERSION = 1;
export const CONFIG_BLOCK_BYTES = 128;

export const CONFIG = {
  magic: 0,
  version: 4,
  deviceFeatures: 8,
  driverFeatures: 16,
  status: 24,
  queueSizeMax: 28,
  queueSize: 32,
  fault: 36,
  desc: 40,
  avail: 48,
  used: 56,
  kickWord: 64,
  interruptWord: 68,
} as const;

export function readFeatures(memory: RingMemory, at: number): Features {
  return (BigInt(memory.u32(at + 4)) << 32n) | BigInt(memory.u32(at));
}

export function writeFeatures(memory: RingMemory, at: number, features: Features): void {
  memory.setU32(at, Number(features & 0xffff_ffffn));
  memory.setU32(at + 4, Number((features >> 32n) & 0xffff_ffffn));
}

/** The queue the driver programmed (untrusted: the device checks it before use). */
export function readQueueAddresses(memory: RingMemory): QueueAddresses {
  return {
    size: memory.u32(CONFIG.queueSize),
    desc: memory.u64(CONFIG.desc),
    avail: memory.u64(CONFIG.avail),
    used: memory.u64(CONFIG.used),
  };
}

export function writeQueueAddresses(memory: RingMemory, queue: QueueAddresses): void {
  memory.setU32(CONFIG.queueSize, queue.size);
  memory.setU64(CONFIG.desc, queue.desc);
  memory.setU64(CONFIG.avail, queue.avail);
  memory.setU64(CONFIG.used, queue.used);
}

/** The device's side of the block, written once when the host offers the device. */
export function initDeviceConfig(
  memory: RingMemory,
  features: Features,
  queueSizeMax: number,
): void {
  if (memory.size < CONFIG_BLOCK_BYTES) {
    throw new VrdmaError(
      'TRANSPORT',
      `region of ${memory.size} bytes cannot hold the config block`,
    );
  }
  memory.bytes.fill(0, 0, CONFIG_BLOCK_BYTES);
  memory.setU32(CONFIG.magic, CONFIG_MAGIC);
  memory.setU32(CONFIG.version, CONFIG_VERSION);
  writeFeatures(memory, CONFIG.deviceFeatures, features);
  memory.setU32(CONFIG.queueSizeMax, queueSizeMax);
}

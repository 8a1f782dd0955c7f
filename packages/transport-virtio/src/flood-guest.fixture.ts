import { parentPort, workerData } from 'node:worker_threads';
import type { Region } from '@vrdma/api-spec';
import {
  CONFIG,
  CONFIG_BLOCK_BYTES,
  readFeatures,
  writeFeatures,
  writeQueueAddresses,
} from './config-block.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_DESC_SIZE,
} from './constants.js';
import { echoRequest } from './echo-fixture.js';
import { DEVICE_FEATURES, negotiateFeatures } from './features.js';
import { AVAIL_IDX, AVAIL_RING, alignUp, planQueue, USED_IDX } from './layout.js';
import { RingMemory } from './ring-memory.js';
import { threadShmDoorbell } from './shm-doorbell.js';

/**
 * A guest in a worker thread flooding its control queue. It attaches by the book, then keeps
 * every head of its queue available: each goes back into the avail ring as soon as the device
 * has returned it, which it learns from the used ring's index alone. It never reads a reply:
 * neither the used elements nor the reply buffer, which every call shares. It stops when the
 * word `stop` is set and reports how many chains it made available.
 */
const { buffer, stop, queueSize } = workerData as {
  buffer: SharedArrayBuffer;
  stop: SharedArrayBuffer;
  queueSize: number;
};
const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const memory = new RingMemory(region);

memory.store32(CONFIG.status, 0);
memory.or32(CONFIG.status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
const features = negotiateFeatures(readFeatures(memory, CONFIG.deviceFeatures), DEVICE_FEATURES);
writeFeatures(memory, CONFIG.driverFeatures, features);
memory.or32(CONFIG.status, VIRTIO_CONFIG_S_FEATURES_OK);

// Every head is an indirect table of two: the one request, then the one reply buffer.
const queue = planQueue(CONFIG_BLOCK_BYTES, queueSize);
const request = echoRequest(1, Uint8Array.of(1));
const requestAt = alignUp(queue.end, 16);
const replyAt = requestAt + 64;
const tablesAt = replyAt + 64;
memory.bytes.set(request, requestAt);
const desc = (at: number, addr: number, len: number, flags: number, next = 0) => {
  memory.setU64(at, addr);
  memory.setU32(at + 8, len);
  memory.setU16(at + 12, flags);
  memory.setU16(at + 14, next);
};
for (let head = 0; head < queueSize; head++) {
  const table = tablesAt + 2 * VRING_DESC_SIZE * head;
  desc(table, requestAt, request.length, VRING_DESC_F_NEXT, 1);
  desc(table + VRING_DESC_SIZE, replyAt, 64, VRING_DESC_F_WRITE);
  desc(queue.desc + VRING_DESC_SIZE * head, table, 2 * VRING_DESC_SIZE, VRING_DESC_F_INDIRECT);
}
writeQueueAddresses(memory, queue);
memory.or32(CONFIG.status, VIRTIO_CONFIG_S_DRIVER_OK);

const bell = threadShmDoorbell(region, 'driver');
const stopped = new Int32Array(stop);
let avail = 0;
let offered = 0;
while (Atomics.load(stopped, 0) === 0) {
  // Heads are offered in turn, and the device returns them in the order it took them (its
  // handler answers in order): the head at `avail` is back once fewer than a queue are out.
  const used = memory.load16(queue.used + USED_IDX);
  let added = 0;
  while (((avail - used) & 0xffff) < queueSize) {
    const head = avail & (queueSize - 1);
    memory.setU16(queue.avail + AVAIL_RING + 2 * head, head);
    avail = (avail + 1) & 0xffff;
    added++;
  }
  if (added > 0) {
    memory.store16(queue.avail + AVAIL_IDX, avail);
    offered += added;
  }
  bell.notify(); // rings only a device that sleeps
  await new Promise((resolve) => setImmediate(resolve));
}
parentPort!.postMessage({ offered });

import { createSharedRegion } from '@vrdma/memory';
import { describe, expect, it } from 'vitest';
import { gatherReadable, scatterWritable } from './chain.js';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VRING_DESC_F_INDIRECT,
} from './constants.js';
import { VirtqueueDevice } from './device.js';
import { VirtqueueDriver } from './driver.js';
import { DEVICE_FEATURES, type Features, featureBit } from './features.js';
import { planQueue } from './layout.js';

const PLAIN: Features = featureBit(VIRTIO_F_VERSION_1);
const WITH_EVENT_IDX: Features = PLAIN | featureBit(VIRTIO_RING_F_EVENT_IDX);

function pair(features: Features, size = 8) {
  const region = createSharedRegion(1, 16384);
  const queue = planQueue(0, size);
  const driver = new VirtqueueDriver(region, queue, features);
  const device = new VirtqueueDevice(region, queue, features);
  return { region, queue, driver, device, heap: 4096 };
}

describe('driver and device on one ring', () => {
  it('carries a request and a reply, direct and indirect', () => {
    for (const features of [PLAIN, DEVICE_FEATURES]) {
      const { region, driver, device, heap, queue } = pair(features);
      region.bytes.set([1, 2, 3], heap);
      const head = driver.add({
        readable: [{ addr: heap, len: 3 }],
        writable: [{ addr: heap + 64, len: 16 }],
        indirectTable: heap + 256,
      });
      expect(driver.free).toBe(features === PLAIN ? 6 : 7);
      driver.publish();
      const chain = device.pop()!;
      expect(chain.head).toBe(head);
      const indirect = region.bytes[queue.desc + 16 * head + 12]! & VRING_DESC_F_INDIRECT;
      expect(indirect !== 0).toBe(features !== PLAIN);
      expect([...gatherReadable(region.bytes, chain)]).toEqual([1, 2, 3]);
      device.pushUsed(chain, scatterWritable(region.bytes, chain, new Uint8Array([9, 8])));
      expect(driver.reap()).toEqual([{ head, len: 2 }]);
      expect([...region.bytes.subarray(heap + 64, heap + 66)]).toEqual([9, 8]);
      expect(driver.free).toBe(8);
    }
  });

  it('runs many laps of the ring with out-of-order returns and 16-bit wrap', () => {
    const { driver, device, heap } = pair(DEVICE_FEATURES, 4);
    let served = 0;
    for (let lap = 0; lap < 70_000 / 3; lap++) {
      const heads = [0, 1, 2].map((i) =>
        driver.add({
          readable: [{ addr: heap + 32 * i, len: 4 }],
          writable: [{ addr: heap + 32 * i + 8, len: 4 }],
          indirectTable: heap + 1024 + 64 * i,
        }),
      );
      driver.publish();
      const chains = [device.pop()!, device.pop()!, device.pop()!];
      expect(chains.map((c) => c.head)).toEqual(heads);
      for (const chain of chains.reverse()) device.pushUsed(chain, 4);
      expect(driver.reap().map((u) => u.head)).toEqual(heads.reverse());
      served += 3;
    }
    expect(served).toBeGreaterThan(65536);
    expect(driver.free).toBe(4);
  });

  it('refuses a chain when descriptors run out', () => {
    const { driver, heap } = pair(PLAIN, 2);
    driver.add({ readable: [{ addr: heap, len: 1 }], writable: [{ addr: heap, len: 1 }] });
    expect(() => driver.add({ readable: [{ addr: heap, len: 1 }], writable: [] })).toThrow(
      /descriptors/,
    );
  });

  it('rejects a used ring naming a head that is not in flight', () => {
    const { region, queue, driver } = pair(PLAIN);
    const view = new DataView(region.bytes.buffer);
    view.setUint32(queue.used + 4, 5, true);
    view.setUint16(queue.used + 2, 1, true);
    expect(() => driver.reap()).toThrow(/not in flight/);
  });
});

describe('notification suppression', () => {
  it('without EVENT_IDX: NO_NOTIFY stops kicks, NO_INTERRUPT stops interrupts', () => {
    const { driver, device, heap } = pair(PLAIN);
    const add = () => driver.add({ readable: [], writable: [{ addr: heap, len: 4 }] });
    add();
    expect(driver.publish()).toBe(true);
    device.disableKicks();
    add();
    expect(driver.publish()).toBe(false);
    expect(device.enableKicks()).toBe(true); // a chain arrived unannounced: drain again
    device.pushUsed(device.pop()!, 0);
    expect(device.needsInterrupt()).toBe(true);
    driver.disableInterrupts();
    device.pushUsed(device.pop()!, 0);
    expect(device.needsInterrupt()).toBe(false);
    expect(driver.enableInterrupts()).toBe(true); // used buffers waiting: reap them
    expect(driver.reap()).toHaveLength(2);
    expect(device.enableKicks()).toBe(false);
    add();
    expect(driver.publish()).toBe(true);
  });

  it('with EVENT_IDX: one kick per avail_event crossing, one interrupt per used_event', () => {
    const { driver, device, heap } = pair(WITH_EVENT_IDX);
    const add = () => driver.add({ readable: [], writable: [{ addr: heap, len: 4 }] });
    add();
    expect(driver.publish()).toBe(true); // avail_event 0: the first buffer is wanted
    add();
    expect(driver.publish()).toBe(false); // device has not asked again yet
    device.pushUsed(device.pop()!, 0);
    device.pushUsed(device.pop()!, 0);
    expect(device.enableKicks()).toBe(false);
    add();
    expect(driver.publish()).toBe(true); // avail_event moved to 2
    expect(device.needsInterrupt()).toBe(true); // used_event 0 crossed
    device.pushUsed(device.pop()!, 0);
    expect(device.needsInterrupt()).toBe(false); // driver has not reaped: used_event still 0
    expect(driver.reap()).toHaveLength(3);
    add();
    driver.publish();
    device.pushUsed(device.pop()!, 0);
    expect(device.needsInterrupt()).toBe(true); // used_event moved to 3 on reaping
  });

  it('with EVENT_IDX, interrupts turned off right after a reap stay off', () => {
    // A driver about to poll turns interrupts off after reaping: used_event must go behind
    // the next used index, or the very next reply still interrupts.
    const { driver, device, heap } = pair(WITH_EVENT_IDX);
    const add = () => driver.add({ readable: [], writable: [{ addr: heap, len: 4 }] });
    add();
    driver.publish();
    device.pushUsed(device.pop()!, 0);
    expect(device.needsInterrupt()).toBe(true);
    expect(driver.reap()).toHaveLength(1); // used_event = 1: the next reply is wanted
    driver.disableInterrupts();
    add();
    driver.publish();
    device.pushUsed(device.pop()!, 0);
    expect(device.needsInterrupt()).toBe(false);
    expect(driver.enableInterrupts()).toBe(true); // the reply is waiting: reap it
    expect(driver.reap()).toHaveLength(1);
    add();
    driver.publish();
    device.pushUsed(device.pop()!, 0);
    expect(device.needsInterrupt()).toBe(true); // asked for again
  });

  it('without the INDIRECT feature, a chain uses one descriptor per buffer', () => {
    const { driver, heap } = pair(PLAIN | featureBit(VIRTIO_RING_F_EVENT_IDX));
    expect(
      driver.descriptorsFor({
        readable: [{ addr: heap, len: 1 }],
        writable: [{ addr: heap, len: 1 }],
        indirectTable: heap + 64,
      }),
    ).toBe(2);
    expect(featureBit(VIRTIO_RING_F_INDIRECT_DESC) & DEVICE_FEATURES).not.toBe(0n);
  });
});

import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import {
  VRING_DESC_F_INDIRECT as INDIRECT,
  VRING_DESC_F_NEXT as NEXT,
  VIRTIO_F_VERSION_1,
  VRING_DESC_F_WRITE as WRITE,
} from './constants.js';
import { VirtqueueDevice } from './device.js';
import { featureBit } from './features.js';
import { faultOf, type QueueFault } from './queue-fault.js';
import { createRingFixture, type RingFixture } from './ring-fixture.js';

function deviceOf(fx: RingFixture): VirtqueueDevice {
  return new VirtqueueDevice(fx.region, fx.queue, fx.features);
}

function expectFault(fx: RingFixture, device: VirtqueueDevice, fault: QueueFault): void {
  let error: unknown;
  try {
    device.pop();
  } catch (e) {
    error = e;
  }
  expect(isVrdmaError(error, 'TRANSPORT'), String(error)).toBe(true);
  expect(faultOf(error)).toBe(fault);
  expect(device.fault?.fault).toBe(fault);
  // Broken for good: the same typed error, whatever the driver does next.
  expect(() => device.pop()).toThrow(device.fault!.error);
  expect(fx.guardsIntact()).toBe(true);
}

describe('VirtqueueDevice: a well-formed chain', () => {
  it('pops readable then writable segments and returns them used', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    const req = fx.heap;
    const resp = fx.heap + 64;
    fx.desc(3, { addr: req, len: 10, flags: NEXT, next: 5 });
    fx.desc(5, { addr: resp, len: 32, flags: WRITE });
    expect(device.pop()).toBeNull();
    fx.offer(3);
    expect(device.pending()).toBe(1);
    const chain = device.pop()!;
    expect(chain).toEqual({
      head: 3,
      readable: [{ addr: req, len: 10 }],
      writable: [{ addr: resp, len: 32 }],
      readableBytes: 10,
      writableBytes: 32,
    });
    device.pushUsed(chain, 20);
    const elem = fx.queue.used + 4;
    expect(fx.memory.u32(elem)).toBe(3);
    expect(fx.memory.u32(elem + 4)).toBe(20);
    expect(fx.memory.u16(fx.queue.used + 2)).toBe(1);
    expect(device.pop()).toBeNull();
  });

  it('follows an indirect table', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    const table = fx.heap;
    fx.descAt(table, { addr: fx.heap + 256, len: 4, flags: NEXT, next: 1 });
    fx.descAt(table + 16, { addr: fx.heap + 512, len: 8, flags: WRITE });
    fx.desc(0, { addr: table, len: 32, flags: INDIRECT });
    fx.offer(0);
    const chain = device.pop()!;
    expect(chain.readable).toEqual([{ addr: fx.heap + 256, len: 4 }]);
    expect(chain.writable).toEqual([{ addr: fx.heap + 512, len: 8 }]);
  });

  it('caps the used length at what the chain can hold', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.desc(0, { addr: fx.heap, len: 8, flags: WRITE });
    fx.offer(0);
    device.pushUsed(device.pop()!, 1000);
    expect(fx.memory.u32(fx.queue.used + 8)).toBe(8);
  });

  it('takes indices over across the 65535 → 0 wrap', () => {
    const fx = createRingFixture({ size: 4 });
    fx.setAvailIdx(65534);
    const device = new VirtqueueDevice(fx.region, fx.queue, fx.features, { startIndex: 65534 });
    fx.desc(1, { addr: fx.heap, len: 8, flags: WRITE });
    for (let i = 0; i < 3; i++) {
      fx.offer(1);
      const chain = device.pop()!;
      expect(chain.head).toBe(1);
      device.pushUsed(chain, 0);
    }
    expect(fx.memory.u16(fx.queue.avail + 2)).toBe(1);
    expect(fx.memory.u16(fx.queue.used + 2)).toBe(1);
  });
});

describe('VirtqueueDevice: hostile drivers', () => {
  it('head index out of range', () => {
    const fx = createRingFixture({ size: 8 });
    const device = deviceOf(fx);
    fx.offer(8);
    expectFault(fx, device, 'head-out-of-range');
  });

  it('next index out of range', () => {
    const fx = createRingFixture({ size: 8 });
    const device = deviceOf(fx);
    fx.desc(0, { addr: fx.heap, len: 4, flags: NEXT, next: 9 });
    fx.offer(0);
    expectFault(fx, device, 'next-out-of-range');
  });

  it('a chain that loops', () => {
    const fx = createRingFixture({ size: 8 });
    const device = deviceOf(fx);
    fx.desc(0, { addr: fx.heap, len: 4, flags: NEXT, next: 1 });
    fx.desc(1, { addr: fx.heap, len: 4, flags: NEXT, next: 0 });
    fx.offer(0);
    expectFault(fx, device, 'chain-too-long');
  });

  it('a descriptor that points at itself', () => {
    const fx = createRingFixture({ size: 2 });
    const device = deviceOf(fx);
    fx.desc(1, { addr: fx.heap, len: 4, flags: NEXT, next: 1 });
    fx.offer(1);
    expectFault(fx, device, 'chain-too-long');
  });

  it('a chain longer than the queue through an indirect table that loops', () => {
    const fx = createRingFixture({ size: 4 });
    const device = deviceOf(fx);
    const table = fx.heap;
    for (let i = 0; i < 4; i++) {
      fx.descAt(table + 16 * i, { addr: fx.heap + 256, len: 1, flags: NEXT, next: (i + 1) % 4 });
    }
    fx.desc(0, { addr: table, len: 64, flags: INDIRECT });
    fx.offer(0);
    expectFault(fx, device, 'chain-too-long');
  });

  it('a buffer that ends past the region', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.desc(0, { addr: fx.region.size - 4, len: 8 });
    fx.offer(0);
    expectFault(fx, device, 'buffer-outside-region');
  });

  it('a buffer far beyond any region (64-bit address)', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.desc(0, { addr: 0x1234_5678_0000_0000n, len: 8, flags: WRITE });
    fx.offer(0);
    expectFault(fx, device, 'buffer-outside-region');
  });

  it('address + length wrapping past 2^64', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.desc(0, { addr: 0xffff_ffff_ffff_fff0n, len: 0x20 });
    fx.offer(0);
    expectFault(fx, device, 'length-overflow');
  });

  it('a chain whose lengths add up past 2^32 - 1', () => {
    const fx = createRingFixture({ size: 4, regionBytes: 0x8000_0000 + 0x1000 });
    const device = deviceOf(fx);
    // Three overlapping 2 GiB buffers: each inside the region, together too long for le32 len.
    for (let i = 0; i < 3; i++) {
      fx.desc(i, {
        addr: 0x1000,
        len: 0x8000_0000,
        flags: WRITE | (i < 2 ? NEXT : 0),
        next: i + 1,
      });
    }
    fx.offer(0);
    expectFault(fx, device, 'length-overflow');
  });

  it('INDIRECT without the feature', () => {
    const fx = createRingFixture({ features: featureBit(VIRTIO_F_VERSION_1) });
    const device = deviceOf(fx);
    fx.descAt(fx.heap, { addr: fx.heap + 256, len: 4 });
    fx.desc(0, { addr: fx.heap, len: 16, flags: INDIRECT });
    fx.offer(0);
    expectFault(fx, device, 'indirect-not-negotiated');
  });

  for (const len of [0, 8, 24, 16 * 9]) {
    it(`an indirect table of ${len} bytes`, () => {
      const fx = createRingFixture({ size: 8 });
      const device = deviceOf(fx);
      fx.desc(0, { addr: fx.heap, len, flags: INDIRECT });
      fx.offer(0);
      expectFault(fx, device, 'indirect-bad-length');
    });
  }

  it('an indirect table outside the region', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.desc(0, { addr: fx.region.size - 16, len: 32, flags: INDIRECT });
    fx.offer(0);
    expectFault(fx, device, 'buffer-outside-region');
  });

  it('a nested indirect table', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.descAt(fx.heap, { addr: fx.heap + 64, len: 16, flags: INDIRECT });
    fx.desc(0, { addr: fx.heap, len: 16, flags: INDIRECT });
    fx.offer(0);
    expectFault(fx, device, 'indirect-nested');
  });

  it('INDIRECT together with NEXT', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.descAt(fx.heap, { addr: fx.heap + 256, len: 4 });
    fx.desc(0, { addr: fx.heap, len: 16, flags: INDIRECT | NEXT, next: 1 });
    fx.offer(0);
    expectFault(fx, device, 'indirect-with-next');
  });

  it('next out of range inside an indirect table', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.descAt(fx.heap, { addr: fx.heap + 256, len: 4, flags: NEXT, next: 2 });
    fx.descAt(fx.heap + 16, { addr: fx.heap + 256, len: 4 });
    fx.desc(0, { addr: fx.heap, len: 32, flags: INDIRECT });
    fx.offer(0);
    expectFault(fx, device, 'next-out-of-range');
  });

  it('a device-readable buffer after a device-writable one', () => {
    const fx = createRingFixture();
    const device = deviceOf(fx);
    fx.desc(0, { addr: fx.heap, len: 4, flags: WRITE | NEXT, next: 1 });
    fx.desc(1, { addr: fx.heap, len: 4 });
    fx.offer(0);
    expectFault(fx, device, 'readable-after-writable');
  });

  it('avail idx moving back', () => {
    const fx = createRingFixture({ size: 8 });
    const device = deviceOf(fx);
    for (let i = 0; i < 3; i++) {
      fx.desc(i, { addr: fx.heap, len: 4 });
      fx.offer(i);
    }
    for (let i = 0; i < 3; i++) device.pop();
    fx.setAvailIdx(1);
    expectFault(fx, device, 'avail-idx-out-of-range');
  });

  it('avail idx more than the queue size ahead', () => {
    const fx = createRingFixture({ size: 8 });
    const device = deviceOf(fx);
    fx.setAvailIdx(9);
    expectFault(fx, device, 'avail-idx-out-of-range');
  });

  it('avail idx exactly the queue size ahead is fine', () => {
    const fx = createRingFixture({ size: 8 });
    const device = deviceOf(fx);
    for (let i = 0; i < 8; i++) {
      fx.desc(i, { addr: fx.heap, len: 4 });
      fx.offer(i);
    }
    for (let i = 0; i < 8; i++) expect(device.pop()?.head).toBe(i);
    expect(device.pop()).toBeNull();
    expect(device.outstanding).toBe(8);
  });

  it('a head made available again before the device returned it', () => {
    // Else a guest could have the host serve any number of calls at once: it only has to keep
    // refilling the avail ring with heads the host is still serving.
    const fx = createRingFixture({ size: 8 });
    const device = deviceOf(fx);
    fx.desc(0, { addr: fx.heap, len: 4 });
    fx.offer(0);
    expect(device.pop()?.head).toBe(0);
    fx.offer(0);
    expectFault(fx, device, 'head-in-use');
  });

  it('a head the device returned may come back; at most the queue size are out at once', () => {
    const fx = createRingFixture({ size: 4 });
    const device = deviceOf(fx);
    for (let i = 0; i < 4; i++) fx.desc(i, { addr: fx.heap, len: 4, flags: WRITE });
    for (let lap = 0; lap < 5; lap++) {
      for (let i = 0; i < 4; i++) fx.offer(i);
      const chains = [0, 1, 2, 3].map(() => device.pop()!);
      expect(device.outstanding).toBe(4);
      for (const chain of chains.reverse()) device.pushUsed(chain, 0); // in any order
      expect(device.outstanding).toBe(0);
    }
    expect(device.fault).toBeUndefined();
    fx.offer(2);
    const chain = device.pop()!;
    device.pushUsed(chain, 0);
    // Returning a chain twice is the host's bug, not the guest's.
    expect(() => device.pushUsed(chain, 0)).toThrow(RangeError);
  });

  it('one broken queue leaves the other guests served', () => {
    const hostile = createRingFixture();
    const honest = createRingFixture();
    const broken = deviceOf(hostile);
    const working = deviceOf(honest);
    hostile.offer(100);
    expect(() => broken.pop()).toThrow(/head-out-of-range/);
    honest.desc(0, { addr: honest.heap, len: 4 });
    honest.offer(0);
    expect(working.pop()?.head).toBe(0);
    expect(working.fault).toBeUndefined();
    expect(hostile.guardsIntact() && honest.guardsIntact()).toBe(true);
  });
});

import { isVrdmaError } from '@vrdma/api-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
} from './constants.js';
import { VirtqueueDevice } from './device.js';
import { featureBit } from './features.js';
import { faultOf } from './queue-fault.js';
import { createRingFixture } from './ring-fixture.js';

const REGION_BYTES = 4096;

/** Descriptor fields biased towards the interesting edges, plus pure noise. */
const descriptor = fc.record({
  addr: fc.oneof(
    fc.integer({ min: 0, max: REGION_BYTES + 64 }).map(BigInt),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  ),
  len: fc.oneof(
    fc.integer({ min: 0, max: 64 }),
    fc.constantFrom(16, 32, 48, 0xffff_ffff),
    fc.integer({ min: 0, max: 0xffff_ffff }),
  ),
  flags: fc.oneof(
    fc
      .subarray([VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT])
      .map((bits) => bits.reduce((a, b) => a | b, 0)),
    fc.integer({ min: 0, max: 0xffff }),
  ),
  next: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffff })),
});

describe('VirtqueueDevice against random ring memory', () => {
  it('either yields chains inside the region or breaks with a typed fault', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 8),
        fc.array(descriptor, { minLength: 8, maxLength: 8 }),
        fc.array(descriptor, { minLength: 0, maxLength: 6 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffff })), {
          minLength: 1,
          maxLength: 10,
        }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.boolean(),
        fc.boolean(),
        (size, table, indirectTable, heads, availIdx, indirect, eventIdx) => {
          const features =
            featureBit(VIRTIO_F_VERSION_1) |
            (indirect ? featureBit(VIRTIO_RING_F_INDIRECT_DESC) : 0n) |
            (eventIdx ? featureBit(VIRTIO_RING_F_EVENT_IDX) : 0n);
          const fx = createRingFixture({ size, regionBytes: REGION_BYTES, features });
          const device = new VirtqueueDevice(fx.region, fx.queue, features);
          for (let i = 0; i < size; i++) fx.desc(i, table[i]!);
          for (const [i, d] of indirectTable.entries()) fx.descAt(fx.heap + 16 * i, d);
          for (const head of heads) fx.offer(head);
          if (availIdx % 3 === 0) fx.setAvailIdx(availIdx);
          for (let i = 0; i < size + 2; i++) {
            let chain: ReturnType<VirtqueueDevice['pop']>;
            try {
              chain = device.pop();
            } catch (error) {
              expect(isVrdmaError(error, 'TRANSPORT')).toBe(true);
              expect(faultOf(error)).toBeDefined();
              expect(device.fault).toBeDefined();
              break;
            }
            if (chain === null) break;
            expect(chain.head).toBeLessThan(size);
            const segments = [...chain.readable, ...chain.writable];
            expect(segments.length).toBeLessThanOrEqual(size);
            for (const { addr, len } of segments) {
              expect(addr).toBeGreaterThanOrEqual(0);
              expect(addr + len).toBeLessThanOrEqual(REGION_BYTES);
            }
            device.pushUsed(chain, chain.writableBytes);
            device.needsInterrupt();
          }
          expect(fx.guardsIntact()).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('survives ring memory that is pure noise, never escaping the region', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1024, maxLength: 1024 }), (noise) => {
        const fx = createRingFixture({ size: 8, regionBytes: REGION_BYTES });
        fx.region.bytes.set(noise, 0);
        const device = new VirtqueueDevice(fx.region, fx.queue, fx.features);
        fx.memory.store16(fx.queue.avail + 2, noise[0]! + noise[1]!); // anything, even behind
        try {
          for (let chain = device.pop(); chain !== null; chain = device.pop()) {
            device.pushUsed(chain, 1);
          }
        } catch (error) {
          expect(faultOf(error)).toBeDefined();
        }
        expect(fx.guardsIntact()).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });
});

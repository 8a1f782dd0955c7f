import { describe, expect, it } from 'vitest';
import { MAX_QUEUE_SIZE } from './constants.js';
import {
  availRingBytes,
  availUsedEventOffset,
  checkQueueAddresses,
  descTableBytes,
  isQueueSize,
  legacyVringSize,
  planQueue,
  usedAvailEventOffset,
  usedRingBytes,
} from './layout.js';

describe('split virtqueue layout', () => {
  it('matches vring_size() of virtio_ring.h for the legacy single block', () => {
    expect(legacyVringSize(256, 4096)).toBe(10246);
    // (16*128 + 2*131) rounded to 4096, + 6 + 8*128
    expect(legacyVringSize(128, 4096)).toBe(4096 + 6 + 1024);
    expect(legacyVringSize(1, 4)).toBe(24 + 6 + 8);
    expect(legacyVringSize(32768, 4096)).toBe(
      Math.ceil((16 * 32768 + 2 * 32771) / 4096) * 4096 + 6 + 8 * 32768,
    );
  });

  it('sizes the three areas as the C structs do', () => {
    expect(descTableBytes(256)).toBe(4096);
    expect(availRingBytes(256)).toBe(2 + 2 + 2 * 256 + 2);
    expect(usedRingBytes(256)).toBe(2 + 2 + 8 * 256 + 2);
    expect(availUsedEventOffset(256)).toBe(4 + 512); // avail->ring[num]
    expect(usedAvailEventOffset(256)).toBe(4 + 2048); // (u16 *)&used->ring[num]
  });

  it('places areas at separate addresses with alignments 16/2/4', () => {
    const q = planQueue(3, 4);
    expect(q.desc).toBe(16);
    expect(q.avail).toBe(16 + 64);
    expect(q.used).toBe(Math.ceil((q.avail + availRingBytes(4)) / 4) * 4);
    expect(q.end).toBe(q.used + usedRingBytes(4));
    const odd = planQueue(0, 2);
    expect(odd.avail % 2).toBe(0);
    expect(odd.used % 4).toBe(0);
  });

  it('accepts only powers of two up to 32768', () => {
    for (const size of [1, 2, 256, MAX_QUEUE_SIZE]) expect(isQueueSize(size)).toBe(true);
    for (const size of [0, 3, 100, 65536, -4, 1.5]) expect(isQueueSize(size)).toBe(false);
    expect(() => planQueue(0, 3)).toThrow(/power of two/);
  });

  it('refuses driver-chosen addresses that are misaligned, outside or overlapping', () => {
    const good = planQueue(128, 8);
    expect(() => checkQueueAddresses(good, 4096, { start: 0, end: 128 })).not.toThrow();
    expect(() => checkQueueAddresses({ ...good, desc: good.desc + 8 }, 4096)).toThrow(/aligned/);
    expect(() => checkQueueAddresses({ ...good, avail: good.avail + 1 }, 4096)).toThrow(/aligned/);
    expect(() => checkQueueAddresses({ ...good, used: good.used + 2 }, 4096)).toThrow(/aligned/);
    expect(() => checkQueueAddresses({ ...good, used: 4096 }, 4096)).toThrow(/outside/);
    expect(() => checkQueueAddresses({ ...good, desc: -16 }, 4096)).toThrow(/outside/);
    expect(() => checkQueueAddresses({ ...good, avail: good.desc }, 4096)).toThrow(/overlaps/);
    expect(() => checkQueueAddresses(planQueue(0, 8), 4096, { start: 0, end: 128 })).toThrow(
      /configuration block/,
    );
    expect(() => checkQueueAddresses({ ...good, size: 6 }, 4096)).toThrow(/power of two/);
  });
});

import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { initRing, RingConsumer, RingProducer, type RingShape, ringBytes } from './ring.js';

function ring(shape: RingShape, start = 0) {
  const memory = new SharedArrayBuffer(ringBytes(shape));
  initRing(memory, 0, start);
  return {
    memory,
    producer: new RingProducer(memory, 0, shape),
    consumer: new RingConsumer(memory, 0, shape),
  };
}

describe('ring', () => {
  it('refuses a push when full and keeps order over many laps and the 2^32 wrap', () => {
    const { producer, consumer } = ring({ slotCount: 4, slotSize: 32 }, 0xffff_fff0);
    let sent = 0;
    let received = 0;
    for (let lap = 0; lap < 1000; lap++) {
      while (producer.tryPush(Uint8Array.of(sent & 0xff, sent >> 8))) sent++;
      expect(producer.inUse()).toBe(4);
      const take = 1 + (lap % 4);
      for (let i = 0; i < take; i++) {
        const frame = consumer.tryPop()!;
        expect(frame[0]! | (frame[1]! << 8)).toBe(received & 0xffff);
        received++;
      }
    }
    expect(received).toBeGreaterThan(2400);
  });

  it('rejects a frame larger than a slot with a typed error', () => {
    const { producer } = ring({ slotCount: 2, slotSize: 32 });
    expect(() => producer.tryPush(new Uint8Array(29))).toThrow(/exceeds the ring slot/);
    expect(producer.tryPush(new Uint8Array(28))).toBe(true);
  });

  it('reports impossible indices and lengths as a broken ring', () => {
    const { memory, producer, consumer } = ring({ slotCount: 4, slotSize: 32 });
    producer.tryPush(Uint8Array.of(1));
    new DataView(memory).setUint32(128, 1000, true); // slot 0 claims 1000 bytes
    expect(() => consumer.tryPop()).toThrow(/claims a frame of 1000 bytes/);
    new Int32Array(memory)[0] = 77; // producer index jumps
    try {
      consumer.available();
      expect.unreachable();
    } catch (error) {
      expect(isVrdmaError(error, 'TRANSPORT')).toBe(true);
    }
  });
});

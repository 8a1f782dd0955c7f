import { EventEmitter } from 'node:events';
import { isVrdmaError } from '@vrdma/api-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DoorbellMux, type DoorbellStream } from './doorbell-mux.js';

/** A stream the test plays the peer on: `arrive` is bytes from the peer, `written` ours. */
function fakeStream() {
  const events = new EventEmitter();
  const written: number[] = [];
  let destroyed = false;
  const stream: DoorbellStream = {
    write: (chunk) => written.push(...chunk),
    get destroyed() {
      return destroyed;
    },
    on: (event: 'data' | 'close', listener: (chunk: Uint8Array) => void) =>
      events.on(event, listener),
  };
  return {
    stream,
    written,
    arrive: (bytes: Uint8Array) => events.emit('data', bytes),
    close: () => {
      destroyed = true;
      events.emit('close');
    },
  };
}

describe('DoorbellMux', () => {
  it('rings each doorbell once per byte naming it, whatever else a peer writes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }), (chunks) => {
        const peer = fakeStream();
        const mux = new DoorbellMux(peer.stream, [1, 2]);
        const rings = { 1: 0, 2: 0 };
        mux.onRing(1, () => rings[1]++);
        mux.onRing(2, () => rings[2]++);
        for (const chunk of chunks) peer.arrive(chunk);
        const all = chunks.flatMap((chunk) => [...chunk]);
        expect(rings[1]).toBe(all.filter((b) => b === 1).length);
        expect(rings[2]).toBe(all.filter((b) => b === 2).length);
        expect(mux.unknown).toBe(all.filter((b) => b !== 1 && b !== 2).length);
      }),
    );
  });

  it('writes one byte per ring, stops ringing once the stream closed, and says so', () => {
    const peer = fakeStream();
    const mux = new DoorbellMux(peer.stream, [1, 2]);
    const closes: string[] = [];
    const stop = mux.onRing(2, () => closes.push('ring after stop'));
    stop();
    peer.arrive(Uint8Array.of(2));
    mux.onClose(() => closes.push('first'));
    expect(mux.ring(2)).toBe(true);
    expect(mux.ring(1)).toBe(true);
    expect(peer.written).toEqual([2, 1]);
    peer.close();
    mux.onClose(() => closes.push('late')); // told at once: the stream is already gone
    expect(mux.ring(1)).toBe(false);
    expect(peer.written).toEqual([2, 1]);
    expect(closes).toEqual(['first', 'late']);
  });

  it('refuses codes that are not bytes, and doorbells it does not carry', () => {
    const peer = fakeStream();
    const failure = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return isVrdmaError(error, 'INVALID_ARGUMENT') ? error.message : String(error);
      }
      return 'no error';
    };
    expect(failure(() => new DoorbellMux(peer.stream, [256]))).toMatch(/256 is not a byte/);
    expect(failure(() => new DoorbellMux(peer.stream, [1.5]))).toMatch(/1.5 is not a byte/);
    const mux = new DoorbellMux(peer.stream, [1]);
    expect(failure(() => mux.onRing(2, () => {}))).toMatch(/doorbell 2 is not on this stream/);
  });
});

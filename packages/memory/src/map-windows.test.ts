import { closeSync } from 'node:fs';
import { isVrdmaError } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { mapWindows } from './map-windows.js';
import { nativeMemory } from './native.js';

const PAGE = 4096;

describe('windows of one file', () => {
  it('are separate buffers over the same memory, each at its own offset', () => {
    const native = nativeMemory();
    const fd = native.createMemfd('vrdma-windows', 4 * PAGE);
    try {
      const whole = new Uint8Array(native.map(fd, 4 * PAGE));
      const [first, second] = mapWindows(fd, [
        { id: 1, offset: 0, size: PAGE },
        { id: 2, offset: 2 * PAGE, size: 2 * PAGE },
      ]);
      expect(first!.bytes.buffer).not.toBe(second!.bytes.buffer);
      expect(second!.bytes.byteLength).toBe(2 * PAGE);
      second!.bytes[5] = 0x5a;
      expect(whole[2 * PAGE + 5]).toBe(0x5a);
      whole[7] = 0xc3;
      expect(first!.bytes[7]).toBe(0xc3);
      Atomics.store(new Int32Array(second!.bytes.buffer), 1, 42);
      expect(Atomics.load(new Int32Array(whole.buffer), (2 * PAGE) / 4 + 1)).toBe(42);
    } finally {
      closeSync(fd);
    }
  });

  it('refuse a window past the end of the file or off a page boundary, with a typed error', () => {
    const native = nativeMemory();
    const fd = native.createMemfd('vrdma-windows-bad', 2 * PAGE);
    try {
      for (const window of [
        { id: 3, offset: PAGE, size: 2 * PAGE },
        { id: 4, offset: 100, size: PAGE },
        { id: 5, offset: -PAGE, size: PAGE },
      ]) {
        try {
          mapWindows(fd, [window]);
          expect.unreachable(`window ${window.id} was mapped`);
        } catch (error) {
          expect(isVrdmaError(error) && error.code).toBe('INVALID_ARGUMENT');
        }
      }
    } finally {
      closeSync(fd);
    }
  });
});

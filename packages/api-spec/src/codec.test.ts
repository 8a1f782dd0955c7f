import { describe, expect, it } from 'vitest';
import { createCodec } from './codec.js';
import { decodeFrame, FRAME_HEADER_SIZE, FrameKind } from './frame.js';
import { transferSpec } from './test-fixtures/transfer-spec.js';

describe('Codec.encodeDataRequestInto', () => {
  const codec = createCodec(transferSpec);
  const write = transferSpec.lookup('write')!;
  const args = {
    channel: 5,
    local: { region: 7, offset: 4096, length: 1000 },
    remote: (3n << 48n) | 0x1234_5678n,
    key: 0xdead_beef,
    fence: true,
  };

  /** A ring-like buffer: a slot view that starts inside it, filled with a marker byte. */
  function slot(bytes: number) {
    const memory = new Uint8Array(16 + bytes + 16).fill(0xee);
    return { memory, view: new DataView(memory.buffer, 16, bytes) };
  }

  it('writes, in place and at any offset, the very frame encodeRequest builds, and nothing else', () => {
    const expected = codec.encodeRequest(write, 77, args);
    const { memory, view } = slot(3 + expected.length + 5);
    const written = codec.encodeDataRequestInto(view, 3, write, 77, args);

    expect(written).toBe(FRAME_HEADER_SIZE + write.argsLayout!.size);
    expect(written).toBe(expected.length);
    const start = 16 + 3;
    expect([...memory.subarray(start, start + written)]).toEqual([...expected]);
    // Not one byte before or after the frame was touched.
    expect(memory.subarray(0, start).every((b) => b === 0xee)).toBe(true);
    expect(memory.subarray(start + written).every((b) => b === 0xee)).toBe(true);

    // And the host reads it back as the same call.
    const frame = decodeFrame(memory.subarray(start, start + written));
    expect(frame).toMatchObject({
      kind: FrameKind.Request,
      fnId: write.id,
      callId: 77,
      fingerprint32: transferSpec.fingerprint32,
    });
    expect(codec.decodeArgs(write, frame)).toEqual(args);
  });

  it('overwrites a reused slot completely: the second call decodes as itself', () => {
    const { memory, view } = slot(FRAME_HEADER_SIZE + write.argsLayout!.size);
    codec.encodeDataRequestInto(view, 0, write, 1, args);
    const second = {
      ...args,
      channel: 9,
      key: 1,
      fence: false,
      local: { ...args.local, length: 1 },
    };
    const written = codec.encodeDataRequestInto(view, 0, write, 2, second);
    const frame = decodeFrame(memory.subarray(16, 16 + written));
    expect(frame.callId).toBe(2);
    expect(codec.decodeArgs(write, frame)).toEqual(second);
    expect([...memory.subarray(16, 16 + written)]).toEqual([
      ...codec.encodeRequest(write, 2, second),
    ]);
  });

  it('refuses a control-plane function with INTERNAL and writes nothing', () => {
    const alloc = transferSpec.lookup('alloc')!;
    const { memory, view } = slot(64);
    expect(() => codec.encodeDataRequestInto(view, 0, alloc, 1, { size: 64 })).toThrow(
      expect.objectContaining({ code: 'INTERNAL', message: 'alloc is not a data-plane function' }),
    );
    expect(memory.every((b) => b === 0xee)).toBe(true);
  });
});

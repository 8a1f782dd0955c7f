import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageReader } from './message-reader.js';
import { encodeHeader, type Header, MessageType, ProtocolError } from './protocol.js';

interface Seen {
  header: Header;
  payload: number[];
}

function readAll(stream: Uint8Array, cuts: number[], maxPayload = 1 << 20): Seen[] {
  const seen: Seen[] = [];
  const reader = new MessageReader((header) => {
    const entry: Seen = { header, payload: [] };
    seen.push(entry);
    return {
      data: (bytes, at) => {
        expect(at).toBe(entry.payload.length);
        entry.payload.push(...bytes);
      },
      end: () => {},
    };
  }, maxPayload);
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < stream.length)].sort((x, y) => x - y)) {
    reader.push(stream.subarray(from, cut));
    from = cut;
  }
  reader.push(stream.subarray(from));
  return seen;
}

describe('the fabric message reader', () => {
  it('yields the same messages however the stream is cut', () => {
    const message = fc.record({
      type: fc.constantFrom(MessageType.WRITE, MessageType.WRITE_DATA, MessageType.READ_DATA),
      request: fc.nat(0xffff_ffff),
      payload: fc.uint8Array({ maxLength: 300 }),
      address: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.nat(4000)), (messages, cuts) => {
        const parts: Uint8Array[] = [];
        for (const m of messages) {
          const carries = m.type !== MessageType.WRITE;
          parts.push(
            encodeHeader({
              type: m.type,
              request: m.request,
              length: carries ? m.payload.length : 77,
              address: m.address,
            }),
          );
          if (carries) parts.push(m.payload);
        }
        const seen = readAll(Buffer.concat(parts), cuts);
        expect(seen.length).toBe(messages.length);
        seen.forEach((s, i) => {
          const m = messages[i]!;
          expect(s.header.type).toBe(m.type);
          expect(s.header.request).toBe(m.request);
          expect(s.header.address).toBe(m.address);
          expect(s.payload).toEqual(m.type === MessageType.WRITE ? [] : [...m.payload]);
        });
      }),
    );
  });

  it('refuses a payload longer than the segment size before reading it', () => {
    const header = encodeHeader({ type: MessageType.WRITE_DATA, length: 1025 });
    expect(() => readAll(header, [], 1024)).toThrow(ProtocolError);
  });

  it('drops a payload nobody wants, and keeps its framing', () => {
    const seen: number[] = [];
    const reader = new MessageReader((h) => {
      seen.push(h.request);
      return undefined;
    }, 1024);
    reader.push(
      Buffer.concat([
        encodeHeader({ type: MessageType.READ_DATA, request: 1, length: 100 }),
        new Uint8Array(100).fill(0xee),
        encodeHeader({ type: MessageType.READ_DONE, request: 2 }),
      ]),
    );
    expect(seen).toEqual([1, 2]);
  });
});

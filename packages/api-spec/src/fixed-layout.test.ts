import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeSchema } from './describe-schema.js';
import { isVrdmaError } from './errors.js';
import { fixedLayoutOf } from './fixed-layout.js';
import { transferSpec as transfers } from './test-fixtures/transfer-spec.js';

const write = transfers.lookup('write')!;
const pollResult = transfers.lookup('poll')!.resultLayout!;

const layoutOf = (schema: z.ZodType) => fixedLayoutOf(describeSchema(schema, 't'), 't');

function roundTrip<T>(
  layout: {
    size: number;
    write(v: DataView, a: number, x: T): void;
    read(v: DataView, a: number): T;
  },
  value: T,
) {
  const view = new DataView(new ArrayBuffer(layout.size + 3));
  layout.write(view, 3, value);
  return layout.read(view, 3);
}

function expectInvalid(fn: () => unknown, pattern: RegExp) {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isVrdmaError(error, 'INVALID_ARGUMENT'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(pattern);
}

describe('fixed-layout codec', () => {
  it('round-trips a write descriptor exactly, 64-bit address included', () => {
    const args = {
      channel: 7,
      local: { region: 2, offset: 2 ** 40 + 5, length: 64 << 20 },
      remote: (0xfffen << 48n) | (2n ** 48n - 9n),
      key: 0xdead_beef,
      fence: true,
    };
    expect(write.argsLayout!.size).toBe(33);
    expect(roundTrip(write.argsLayout!, args)).toEqual(args);
  });

  it('fills defaults when writing', () => {
    const layout = layoutOf(
      z.object({ n: z.number().int().min(0).max(9), flag: z.boolean().default(true) }),
    );
    expect(roundTrip(layout, { n: 3 })).toEqual({ n: 3, flag: true });
  });

  it('picks the narrowest storage for bounded integers', () => {
    expect(layoutOf(z.number().int().min(0).max(255)).size).toBe(1);
    expect(layoutOf(z.number().int().min(-3).max(30_000)).size).toBe(2);
    expect(layoutOf(z.number().int().min(0).max(70_000)).size).toBe(4);
    expect(layoutOf(z.number().int()).size).toBe(8);
    expect(layoutOf(z.number()).size).toBe(8);
  });

  it('refuses, when reading, every byte pattern the schema does not allow', () => {
    const view = new DataView(new ArrayBuffer(write.argsLayout!.size));
    const valid = {
      channel: 1,
      local: { region: 0, offset: 0, length: 1 },
      remote: 0n,
      key: 0,
      fence: false,
    };
    write.argsLayout!.write(view, 0, valid);
    view.setUint32(0, 0, true); // handle 0
    expectInvalid(() => write.argsLayout!.read(view, 0), /channel: 0 is outside/);
    view.setUint32(0, 1, true);
    view.setUint8(32, 2); // boolean byte 2
    expectInvalid(() => write.argsLayout!.read(view, 0), /fence: boolean byte is 2/);
    view.setUint8(32, 0);
    view.setFloat64(12, 1.5, true); // offset not an integer
    expectInvalid(() => write.argsLayout!.read(view, 0), /offset: expected an integer/);
    view.setFloat64(12, 2 ** 49, true);
    expectInvalid(() => write.argsLayout!.read(view, 0), /offset: .* is outside/);
    view.setFloat64(12, Number.NaN, true);
    expectInvalid(() => write.argsLayout!.read(view, 0), /offset/);

    const result = new DataView(new ArrayBuffer(pollResult.size));
    result.setUint16(0, 17, true); // more completions than MAX_COMPLETIONS
    expectInvalid(() => pollResult.read(result, 0), /array length 17/);
    result.setUint16(0, 1, true);
    result.setUint8(2 + 4, 9); // status index out of the enum
    expectInvalid(() => pollResult.read(result, 0), /status: choice index 9/);
  });

  it('refuses, when writing, values it would otherwise truncate', () => {
    const layout = write.argsLayout!;
    const view = new DataView(new ArrayBuffer(layout.size));
    const valid = {
      channel: 1,
      local: { region: 0, offset: 0, length: 1 },
      remote: 0n,
      key: 0,
      fence: false,
    };
    expectInvalid(() => layout.write(view, 0, { ...valid, channel: 2 ** 32 }), /channel/);
    expectInvalid(() => layout.write(view, 0, { ...valid, key: -1 }), /key/);
    expectInvalid(() => layout.write(view, 0, { ...valid, remote: 2n ** 64n }), /remote/);
    expectInvalid(
      () => layout.write(view, 0, { ...valid, remote: 5 as unknown as bigint }),
      /expected a bigint/,
    );
    expectInvalid(
      () => layout.write(view, 0, { ...valid, local: null as never }),
      /local: expected an object/,
    );
  });

  it('never reads a random record into anything but a valid value or INVALID_ARGUMENT (property)', () => {
    const layout = write.argsLayout!;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: layout.size, maxLength: layout.size }), (bytes) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        let value: unknown;
        try {
          value = layout.read(view, 0);
        } catch (error) {
          expect(isVrdmaError(error, 'INVALID_ARGUMENT')).toBe(true);
          return;
        }
        expect(write.args.safeParse(value).success).toBe(true);
        const again = new DataView(new ArrayBuffer(layout.size));
        layout.write(again, 0, value);
        expect(layout.read(again, 0)).toEqual(value);
      }),
      { numRuns: 2_000 },
    );
  });

  it('agrees with zod on every value it accepts for writing (property)', () => {
    const layout = write.argsLayout!;
    const arb = fc.record({
      channel: fc.oneof(fc.integer({ min: -2, max: 2 ** 32 + 2 }), fc.double()),
      local: fc.record({
        region: fc.integer({ min: -1, max: 2 ** 32 }),
        offset: fc.oneof(fc.integer({ min: -1, max: 2 ** 49 }), fc.double()),
        length: fc.integer({ min: -1, max: 2 ** 32 }),
      }),
      remote: fc.bigInt({ min: -1n, max: 2n ** 64n }),
      key: fc.integer({ min: -1, max: 2 ** 32 }),
      fence: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, (value) => {
        const zodOk = write.args.safeParse(value).success;
        let layoutOk = true;
        try {
          layout.write(new DataView(new ArrayBuffer(layout.size)), 0, value);
        } catch {
          layoutOk = false;
        }
        expect(layoutOk).toBe(zodOk);
      }),
      { numRuns: 2_000 },
    );
  });
});

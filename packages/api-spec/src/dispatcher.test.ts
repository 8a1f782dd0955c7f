import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCodec } from './codec.js';
import { defineApi } from './define-api.js';
import { createDispatcher, type DispatchFailure } from './dispatcher.js';
import { VrdmaError } from './errors.js';
import { decodeFrame, encodeFrame, FRAME_HEADER_SIZE, FrameKind } from './frame.js';
import { handle } from './kinds.js';

const spec = defineApi({
  name: 'counter',
  version: 1,
  errors: ['TOO_BIG'],
  functions: {
    add: {
      plane: 'control',
      args: { by: z.number().int().min(1).max(100), label: z.string().max(8).optional() },
      result: z.object({ total: z.number() }),
      errors: ['TOO_BIG'],
    },
    bump: {
      plane: 'data',
      args: { counter: handle('Counter'), by: z.number().int().min(0).max(255) },
      result: z.object({ total: z.number().int().min(0).max(0xffff_ffff) }),
      errors: [],
    },
    explode: {
      plane: 'control',
      args: { how: z.enum(['plain', 'undeclared', 'declared', 'string']) },
      result: z.void(),
      errors: ['TOO_BIG'],
    },
  },
});

function setup() {
  let total = 0;
  const failures: DispatchFailure[] = [];
  const dispatcher = createDispatcher(
    spec,
    {
      add: ({ by }) => {
        if (total + by > 1000) throw new VrdmaError('TOO_BIG', `total would pass 1000`);
        total += by;
        return { total };
      },
      bump: ({ by }) => {
        total += by;
        return { total };
      },
      explode: ({ how }) => {
        if (how === 'plain') throw new Error('secret detail');
        if (how === 'undeclared') throw new VrdmaError('NOT_MINE', 'x');
        if (how === 'string') throw 'a string';
        throw new VrdmaError('TOO_BIG', 'declared');
      },
    },
    { onFailure: (f) => failures.push(f) },
  );
  return { dispatcher, failures, codec: createCodec(spec) };
}

async function replyTo(request: Uint8Array) {
  const { dispatcher, codec, failures } = setup();
  const frame = decodeFrame(await dispatcher.handle(request));
  return {
    frame,
    error: frame.kind === FrameKind.Error ? codec.decodeError(frame) : undefined,
    failures,
  };
}

// Plain msgpack, without records: what any msgpack library would send.
const pack = (value: unknown) => new Packr({ useRecords: false }).pack(value);

const header = (fnId: number, callId = 9, fingerprint32 = spec.fingerprint32) => ({
  kind: FrameKind.Request,
  fnId,
  callId,
  fingerprint32,
});

describe('createDispatcher', () => {
  it('serves a valid control call and a valid data call', async () => {
    const { dispatcher, codec } = setup();
    const add = spec.lookup('add')!;
    const reply = decodeFrame(await dispatcher.handle(codec.encodeRequest(add, 5, { by: 3 })));
    expect(reply).toMatchObject({ kind: FrameKind.Result, fnId: add.id, callId: 5 });
    expect(codec.decodeResult(add, reply)).toEqual({ total: 3 });
    const bump = spec.lookup('bump')!;
    const dataReply = decodeFrame(
      await dispatcher.handle(codec.encodeRequest(bump, 6, { counter: 1, by: 4 })),
    );
    expect(codec.decodeResult(bump, dataReply)).toEqual({ total: 7 });
  });

  it('refuses an implementation that lacks a function', () => {
    expect(() => createDispatcher(spec, { add: () => ({ total: 0 }) } as never)).toThrow(
      /lacks function bump/,
    );
  });

  const malformed: Array<[string, () => Uint8Array, string, RegExp]> = [
    ['an empty frame', () => new Uint8Array(0), 'MALFORMED_FRAME', /shorter than its header/],
    [
      'a truncated header',
      () => new Uint8Array(FRAME_HEADER_SIZE - 1),
      'MALFORMED_FRAME',
      /shorter/,
    ],
    [
      'a wrong frame version',
      () => {
        const f = encodeFrame(header(1), pack({ by: 1 }));
        f[0] = 99;
        return f;
      },
      'MALFORMED_FRAME',
      /version 99/,
    ],
    [
      'an unknown frame kind',
      () => {
        const f = encodeFrame(header(1), pack({ by: 1 }));
        f[1] = 42;
        return f;
      },
      'MALFORMED_FRAME',
      /kind 42/,
    ],
    [
      'a reply frame sent as a request',
      () => encodeFrame({ ...header(1), kind: FrameKind.Result }, pack({ by: 1 })),
      'MALFORMED_FRAME',
      /expected a request/,
    ],
    [
      'an unknown function id',
      () => encodeFrame(header(77), pack({})),
      'UNKNOWN_FUNCTION',
      /no function with id 77/,
    ],
    ['function id 0', () => encodeFrame(header(0), pack({})), 'UNKNOWN_FUNCTION', /id 0/],
    [
      'a foreign fingerprint',
      () => encodeFrame(header(1, 9, 0x12345678), pack({ by: 1 })),
      'FINGERPRINT_MISMATCH',
      /guest spec fingerprint 12345678 does not match host spec counter v1 \([0-9a-f]{8}\)/,
    ],
    [
      'undecodable msgpack',
      () => encodeFrame(header(1), new Uint8Array([0x92, 0x01])),
      'MALFORMED_FRAME',
      /undecodable/,
    ],
    ['a missing argument', () => encodeFrame(header(1), pack({})), 'INVALID_ARGUMENT', /by: /],
    [
      'a mistyped argument',
      () => encodeFrame(header(1), pack({ by: 'three' })),
      'INVALID_ARGUMENT',
      /by: /,
    ],
    [
      'an out-of-range argument',
      () => encodeFrame(header(1), pack({ by: 101 })),
      'INVALID_ARGUMENT',
      /by: /,
    ],
    [
      'an unexpected argument',
      () => encodeFrame(header(1), pack({ by: 1, admin: true })),
      'INVALID_ARGUMENT',
      /admin/,
    ],
    [
      'arguments that are not an object',
      () => encodeFrame(header(1), pack([1, 2])),
      'INVALID_ARGUMENT',
      /expected object/,
    ],
    [
      'a too-long string',
      () => encodeFrame(header(1), pack({ by: 1, label: 'much too long' })),
      'INVALID_ARGUMENT',
      /label/,
    ],
    [
      'a short data record',
      () => encodeFrame(header(2), new Uint8Array(3)),
      'MALFORMED_FRAME',
      /record of 3 bytes, expected 5/,
    ],
    [
      'a long data record',
      () => encodeFrame(header(2), new Uint8Array(6)),
      'MALFORMED_FRAME',
      /record of 6 bytes/,
    ],
    [
      'a data record with handle 0',
      () => encodeFrame(header(2), new Uint8Array(5)),
      'INVALID_ARGUMENT',
      /counter: 0 is outside/,
    ],
  ];

  for (const [what, make, code, message] of malformed) {
    it(`answers ${what} with ${code}, keeping the call id`, async () => {
      const { frame, error, failures } = await replyTo(make());
      expect(frame.kind).toBe(FrameKind.Error);
      expect(error?.code).toBe(code);
      expect(error?.message).toMatch(message);
      expect(failures).toHaveLength(1);
      if (make().length >= FRAME_HEADER_SIZE) expect(frame.callId).toBe(9);
    });
  }

  it('passes declared and framework errors through, and hides everything else behind INTERNAL', async () => {
    const { dispatcher, codec } = setup();
    const explode = spec.lookup('explode')!;
    const errorOf = async (how: string) =>
      codec.decodeError(
        decodeFrame(await dispatcher.handle(codec.encodeRequest(explode, 1, { how }))),
      );
    expect(await errorOf('declared')).toMatchObject({ code: 'TOO_BIG', message: 'declared' });
    const plain = await errorOf('plain');
    expect(plain.code).toBe('INTERNAL');
    expect(plain.message).toBe('explode failed: secret detail');
    expect(plain.cause).toBeUndefined();
    expect(await errorOf('undeclared')).toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/undeclared code NOT_MINE/),
    });
    expect(await errorOf('string')).toMatchObject({ code: 'INTERNAL' });
  });

  it('answers invalid results of a data-plane implementation with INTERNAL', async () => {
    const dispatcher = createDispatcher(spec, {
      add: () => ({ total: 0 }),
      bump: () => ({ total: -1 }),
      explode: () => undefined,
    });
    const codec = createCodec(spec);
    const reply = decodeFrame(
      await dispatcher.handle(codec.encodeRequest(spec.lookup('bump')!, 3, { counter: 1, by: 1 })),
    );
    expect(codec.decodeError(reply)).toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/bump returned an invalid result/),
    });
  });

  it('never throws and always answers with a decodable frame, whatever the bytes (property)', async () => {
    const { dispatcher, codec } = setup();
    const anyFrame = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc
        .tuple(fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 40 }))
        .map(([fnId, payload]) => encodeFrame(header(fnId, 1), payload)),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.anything()).map(([fnId, value]) => {
        try {
          return encodeFrame(header(fnId, 1), pack(value));
        } catch {
          return new Uint8Array(1);
        }
      }),
    );
    await fc.assert(
      fc.asyncProperty(anyFrame, async (bytes) => {
        const frame = decodeFrame(await dispatcher.handle(bytes));
        if (frame.kind === FrameKind.Error)
          expect(codec.decodeError(frame)).toBeInstanceOf(VrdmaError);
        else expect(frame.kind).toBe(FrameKind.Result);
      }),
      { numRuns: 1_000 },
    );
  });
});

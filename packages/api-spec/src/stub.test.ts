import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCodec } from './codec.js';
import { defineApi } from './define-api.js';
import { createDispatcher } from './dispatcher.js';
import { VrdmaError } from './errors.js';
import { encodeFrame, FrameKind } from './frame.js';
import type { Link } from './link.js';
import { createLoopbackLink } from './loopback.js';
import { createStub } from './stub.js';

const echoSpec = (version: number) =>
  defineApi({
    name: 'echo',
    version,
    errors: ['REFUSED'],
    functions: {
      echo: {
        plane: 'control',
        args: { text: z.string() },
        result: z.object({ text: z.string() }),
        errors: ['REFUSED'],
      },
      refuse: { plane: 'control', args: {}, result: z.void(), errors: ['REFUSED'] },
    },
  });

const echoImpl = {
  echo: ({ text }: { text: string }) => ({ text }),
  refuse: () => {
    throw new VrdmaError('REFUSED', 'not today', {
      cause: new VrdmaError('TIMEOUT', 'upstream slow'),
    });
  },
};

describe('createStub', () => {
  it('calls through a link and returns the result', async () => {
    const spec = echoSpec(1);
    const api = createStub(spec, createLoopbackLink(createDispatcher(spec, echoImpl)));
    expect(await api.echo({ text: 'héllo' })).toEqual({ text: 'héllo' });
  });

  it('throws the host’s error with its code, message and cause', async () => {
    const spec = echoSpec(1);
    const api = createStub(spec, createLoopbackLink(createDispatcher(spec, echoImpl)));
    const error = await api.refuse().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VrdmaError);
    expect(error).toMatchObject({ code: 'REFUSED', message: 'not today' });
    expect((error as VrdmaError).cause).toMatchObject({
      code: 'TIMEOUT',
      message: 'upstream slow',
    });
  });

  it('refuses to talk to a host built from another version of the spec, naming both', async () => {
    const api = createStub(
      echoSpec(1),
      createLoopbackLink(createDispatcher(echoSpec(2), echoImpl)),
    );
    const error = await api.echo({ text: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    const guest = echoSpec(1).fingerprint.slice(0, 8);
    const host = echoSpec(2).fingerprint.slice(0, 8);
    expect((error as Error).message).toContain(guest);
    expect((error as Error).message).toContain(host);
    expect((error as Error).message).toContain('echo v2');
  });

  const silent: Link = { call: () => new Promise(() => {}) };

  it('times out a call the host never answers', async () => {
    const api = createStub(echoSpec(1), silent);
    await expect(api.echo({ text: 'x' }, { timeoutMs: 20 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
  });

  it('cancels a call through its AbortSignal, before or while it is pending', async () => {
    const api = createStub(echoSpec(1), silent);
    await expect(
      api.echo({ text: 'x' }, { signal: AbortSignal.abort('early') }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    const controller = new AbortController();
    const pending = api.echo({ text: 'x' }, { signal: controller.signal });
    controller.abort('late');
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('rejects replies that do not belong to the call or carry an invalid result', async () => {
    const spec = echoSpec(1);
    const codec = createCodec(spec);
    const fn = spec.lookup('echo')!;
    const replyWith = (make: (callId: number) => Uint8Array): Link => ({
      call: async (_req, info) => make(info.callId),
    });
    const wrongCall = createStub(
      spec,
      replyWith((id) => codec.encodeResult(fn, id + 1, { text: 'x' })),
    );
    await expect(wrongCall.echo({ text: 'x' })).rejects.toMatchObject({ code: 'MALFORMED_FRAME' });
    const badResult = createStub(
      spec,
      replyWith((id) => codec.encodeResult(fn, id, { text: 42 })),
    );
    await expect(badResult.echo({ text: 'x' })).rejects.toMatchObject({
      code: 'MALFORMED_FRAME',
      message: expect.stringMatching(/invalid result/),
    });
    const requestBack = createStub(
      spec,
      replyWith((id) =>
        encodeFrame(
          { kind: FrameKind.Request, fnId: fn.id, callId: id, fingerprint32: 0 },
          new Uint8Array(),
        ),
      ),
    );
    await expect(requestBack.echo({ text: 'x' })).rejects.toMatchObject({
      code: 'MALFORMED_FRAME',
    });
    const garbage = createStub(
      spec,
      replyWith(() => new Uint8Array(3)),
    );
    await expect(garbage.echo({ text: 'x' })).rejects.toMatchObject({ code: 'MALFORMED_FRAME' });
  });

  it('refuses a data-plane argument it cannot encode, before sending anything', async () => {
    const spec = defineApi({
      name: 'tiny',
      version: 1,
      errors: [],
      functions: {
        put: {
          plane: 'data',
          args: { n: z.number().int().min(0).max(255) },
          result: z.void(),
          errors: [],
        },
      },
    });
    let sent = 0;
    const api = createStub(spec, {
      call: async () => {
        sent++;
        return new Uint8Array();
      },
    });
    await expect(api.put({ n: 256 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(sent).toBe(0);
  });
});

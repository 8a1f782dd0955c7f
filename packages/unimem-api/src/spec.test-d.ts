import {
  type ApiOf,
  type BufferRef,
  createDispatcher,
  createStub,
  type Handle,
  type ImplOf,
  type Link,
} from '@vrdma/api-spec';
import { describe, expectTypeOf, it } from 'vitest';
import type { UnimemErrorCode } from './engine.js';
import type { GlobalAddress } from './global-address.js';
import { type UnimemSpec, unimemSpec } from './spec.js';

declare const link: Link;
declare const channel: Handle<'Channel'>;
declare const buffer: Handle<'Buffer'>;
declare const ref: BufferRef;
declare const remote: GlobalAddress;

describe('types derived from the Unimem spec', () => {
  const api = createStub(unimemSpec, link);

  it('gives each function its arguments and result types', async () => {
    expectTypeOf(api).toEqualTypeOf<ApiOf<UnimemSpec>>();
    const allocated = await api.alloc({ size: 64 });
    expectTypeOf(allocated).toEqualTypeOf<{
      buffer: Handle<'Buffer'>;
      ref: BufferRef;
      address: GlobalAddress;
    }>();
    expectTypeOf(api.write).parameter(0).toMatchTypeOf<{
      channel: Handle<'Channel'>;
      local: BufferRef;
      remote: GlobalAddress;
      key: number;
    }>();
    expectTypeOf(await api.poll({ channel })).toEqualTypeOf<{
      completions: Array<{
        transfer: number;
        status: 'ok' | 'no-permission' | 'node-down' | 'canceled' | 'refused';
        bytes: number;
        error?: UnimemErrorCode | undefined;
      }>;
    }>();
    expectTypeOf(api.open).toBeCallableWith();
    expectTypeOf(api.poll).toBeCallableWith({ channel }, { timeoutMs: 5 });
  });

  it('makes a misspelt function, a wrong argument or a mixed-up handle a compile error', () => {
    // @ts-expect-error misspelt function
    api.wirte;
    // @ts-expect-error wrong argument type
    api.alloc({ size: '64' });
    // @ts-expect-error missing argument
    api.free({});
    // @ts-expect-error a Channel handle is not a Buffer handle
    api.free({ buffer: channel });
    // @ts-expect-error a plain number is not a handle
    api.closeChannel({ channel: 3 });
    // @ts-expect-error a number is not a global address
    api.write({ channel, local: ref, remote: 5, key: 1 });
    // @ts-expect-error unknown argument
    api.free({ buffer, extra: true });
    api.write({ channel, local: ref, remote, key: 1 });
  });

  it('makes an implementation that lacks a function, or returns the wrong type, a compile error', () => {
    const partial = {} as Omit<ImplOf<UnimemSpec>, 'revoke'>;
    // @ts-expect-error revoke is missing
    createDispatcher(unimemSpec, partial);
    const wrong = {} as Omit<ImplOf<UnimemSpec>, 'free'> & { free: () => number };
    // @ts-expect-error free returns void, not a number
    createDispatcher(unimemSpec, wrong);
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineApi } from './define-api.js';
import { SchemaSupportError } from './describe-schema.js';
import { bufferRef, handle } from './kinds.js';

const base = () => ({
  name: 'demo',
  version: 1,
  errors: ['NOPE'] as const,
  functions: {
    ping: {
      plane: 'control' as const,
      args: { n: z.number().int().min(0).max(10) },
      result: z.number(),
      errors: ['NOPE' as const],
    },
    put: {
      plane: 'data' as const,
      args: {
        h: handle('Thing'),
        at: bufferRef(),
        to: z
          .bigint()
          .min(0n)
          .max(2n ** 64n - 1n),
      },
      result: z.void(),
      errors: [],
    },
  },
});

describe('defineApi', () => {
  it('numbers functions from 1 in declaration order and derives layouts for the data plane only', () => {
    const spec = defineApi(base());
    expect(spec.table.map((f) => [f.id, f.name, f.plane])).toEqual([
      [1, 'ping', 'control'],
      [2, 'put', 'data'],
    ]);
    expect(spec.lookup('ping')!.argsLayout).toBeUndefined();
    expect(spec.lookup('put')!.argsLayout!.size).toBe(4 + 16 + 8);
    expect(spec.lookup('nope')).toBeUndefined();
  });

  it('gives the same spec the same fingerprint, and any change a different one', () => {
    const fp = defineApi(base()).fingerprint;
    expect(defineApi(base()).fingerprint).toBe(fp);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    const variants = [
      { ...base(), version: 2 },
      { ...base(), name: 'other' },
      { ...base(), errors: ['NOPE', 'MORE'] as const },
      {
        ...base(),
        functions: {
          ...base().functions,
          ping: { ...base().functions.ping, plane: 'data' as const },
        },
      },
      {
        ...base(),
        functions: {
          ...base().functions,
          ping: { ...base().functions.ping, args: { n: z.number().int().min(0).max(11) } },
        },
      },
      {
        ...base(),
        functions: { ...base().functions, ping: { ...base().functions.ping, result: z.string() } },
      },
      {
        ...base(),
        functions: { ...base().functions, ping: { ...base().functions.ping, errors: [] } },
      },
      { ...base(), functions: { put: base().functions.put, ping: base().functions.ping } },
    ];
    // The variants differ in type on purpose; defineApi checks them at run time too.
    const prints = variants.map((v) => defineApi(v as Parameters<typeof defineApi>[0]).fingerprint);
    expect(new Set([fp, ...prints]).size).toBe(variants.length + 1);
  });

  it('refuses error codes the API did not declare, framework codes, and bad names', () => {
    const bad = base();
    expect(() =>
      defineApi({
        ...bad,
        functions: {
          ...bad.functions,
          ping: { ...bad.functions.ping, errors: ['ELSE' as 'NOPE'] },
        },
      }),
    ).toThrow(/ELSE is not declared/);
    expect(() =>
      defineApi({ ...bad, errors: ['TIMEOUT'] as unknown as readonly ['NOPE'] }),
    ).toThrow(/framework code/);
    expect(() => defineApi({ ...bad, name: 'Bad Name' })).toThrow(/lower-case/);
    expect(() => defineApi({ ...bad, version: -1 })).toThrow(/version/);
  });

  it('refuses data-plane arguments without a fixed size and unsupported zod types, at definition time', () => {
    const withString = {
      plane: 'data' as const,
      args: { s: z.string() },
      result: z.void(),
      errors: [],
    };
    expect(() => defineApi({ ...base(), functions: { withString } })).toThrow(SchemaSupportError);
    const unbounded = {
      plane: 'data' as const,
      args: { xs: z.array(z.number()) },
      result: z.void(),
      errors: [],
    };
    expect(() => defineApi({ ...base(), functions: { unbounded } })).toThrow(/max\(n\)/);
    const piped = {
      plane: 'control' as const,
      args: { d: z.date() },
      result: z.void(),
      errors: [],
    };
    expect(() => defineApi({ ...base(), functions: { piped } })).toThrow(/'date' is not supported/);
  });
});

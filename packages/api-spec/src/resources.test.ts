import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ApiDefinition, defineApi, type FunctionDefinition } from './define-api.js';
import { bufferRef, capability, handle } from './kinds.js';

type Definition = ApiDefinition<Record<string, FunctionDefinition>, string>;

/**
 * A pool API: pools are sized, leases are taken on a pool (and must go before it), tickets are
 * capabilities a pool's owner hands out. Every case below breaks one rule of it.
 */
function pool(): Definition {
  const control = (args: FunctionDefinition['args'], result: z.ZodType = z.void()) => ({
    plane: 'control' as const,
    args,
    result,
    errors: [],
  });
  return {
    name: 'pool',
    version: 1,
    errors: ['NOT_YOURS'],
    handles: {
      Pool: { release: 'drop', bytes: 'size', releasedAfter: ['Lease'] },
      Lease: { release: 'unlease' },
    },
    capabilities: { Ticket: { release: 'cancel', refusal: 'NOT_YOURS' } },
    functions: {
      make: control({ size: z.number().int().min(1) }, z.object({ pool: handle('Pool') })),
      drop: control({ pool: handle('Pool') }),
      lease: control({ pool: handle('Pool') }, z.object({ lease: handle('Lease') })),
      unlease: control({ lease: handle('Lease') }),
      ticket: control({ pool: handle('Pool') }, z.object({ ticket: capability('Ticket') })),
      cancel: control({ ticket: capability('Ticket') }),
      push: {
        plane: 'data',
        args: { lease: handle('Lease'), from: bufferRef() },
        result: z.void(),
        errors: [],
      },
      reset: { ...control({}), releases: 'all' },
    },
  };
}

/** The pool API with one change made to it. */
function definePool(change: (definition: Definition) => void) {
  const definition = pool();
  change(definition);
  return defineApi(definition);
}

describe('the resource plan of a spec', () => {
  it.each<[string, (d: Definition) => void, RegExp]>([
    [
      'a release function that is no function',
      (d) => {
        d.handles!.Lease!.release = 'return';
      },
      /Lease is released by 'return', which is no function/,
    ],
    [
      'a release function naming no handle of its kind',
      (d) => {
        d.functions.unlease!.args = {};
      },
      /'unlease' releases Lease, so its arguments must name exactly one handle\('Lease'\)/,
    ],
    [
      'a release function naming two handles of its kind',
      (d) => {
        d.functions.unlease!.args = { lease: handle('Lease'), other: handle('Lease') };
      },
      /'unlease' releases Lease, so its arguments must name exactly one handle\('Lease'\)/,
    ],
    [
      'a release function naming a handle of another kind only',
      (d) => {
        d.functions.unlease!.args = { pool: handle('Pool') };
      },
      /'unlease' releases Lease, so its arguments must name exactly one handle\('Lease'\)/,
    ],
    [
      'a capability released by a function that names a handle instead',
      (d) => {
        d.functions.cancel!.args = { ticket: handle('Ticket') };
      },
      /'cancel' releases Ticket, so its arguments must name exactly one capability\('Ticket'\)/,
    ],
    [
      'one function releasing two kinds',
      (d) => {
        d.handles!.Lease!.release = 'drop';
        d.functions.drop!.args = { pool: handle('Pool'), lease: handle('Lease') };
      },
      /'drop' releases more than one kind/,
    ],
    [
      'a result handle of an undeclared kind',
      (d) => {
        d.functions.spawn = {
          plane: 'control',
          args: {},
          result: z.object({ orphan: handle('Orphan') }),
          errors: [],
        };
      },
      /'spawn' returns handle\('Orphan'\): declare in handles how one is released/,
    ],
    [
      'a result capability of an undeclared kind',
      (d) => {
        d.functions.coupon = {
          plane: 'control',
          args: {},
          result: z.object({ coupon: capability('Coupon') }),
          errors: [],
        };
      },
      /'coupon' returns capability\('Coupon'\): declare in capabilities how one is released/,
    ],
    [
      'a refusal code the API does not declare',
      (d) => {
        d.capabilities!.Ticket!.refusal = 'FORBIDDEN';
      },
      /capability Ticket: refusal FORBIDDEN is not an error code of the API/,
    ],
    [
      'a bytes argument the creating function lacks',
      (d) => {
        d.handles!.Pool!.bytes = 'length';
      },
      /'make' creates Pool but has no number argument 'length' \(its bytes\)/,
    ],
    [
      'a bytes argument that is not a number',
      (d) => {
        d.functions.make!.args = { size: z.string().max(8) };
      },
      /'make' creates Pool but has no number argument 'size' \(its bytes\)/,
    ],
    [
      'kinds released after each other in a cycle',
      (d) => {
        d.handles!.Lease!.releasedAfter = ['Pool'];
      },
      /handle kinds are released after each other in a cycle at Pool/,
    ],
    [
      'a kind released after itself',
      (d) => {
        d.handles!.Lease!.releasedAfter = ['Lease'];
      },
      /released after each other in a cycle at Lease/,
    ],
    [
      'a kind released after a kind that is not declared',
      (d) => {
        d.handles!.Pool!.releasedAfter = ['Lease', 'Nothing'];
      },
      /Pool is released after Nothing, no handle kind/,
    ],
    [
      'a handle inside a union of the arguments',
      (d) => {
        d.functions.drop!.args = { pool: z.union([handle('Pool'), z.literal(0)]) };
      },
      /drop\(args\)\.pool: handles, capabilities and buffer references cannot sit inside a union/,
    ],
    [
      'a capability inside a union of the result',
      (d) => {
        d.functions.ticket!.result = z.union([
          z.object({ ticket: capability('Ticket') }),
          z.null(),
        ]);
      },
      /ticket\(result\): handles, capabilities and buffer references cannot sit inside a union/,
    ],
  ])('refuses %s with a TypeError, at definition time', (_case, change, message) => {
    const define = () => definePool(change);
    expect(define).toThrow(TypeError);
    expect(define).toThrow(message);
  });

  it('accepts the pool API as declared', () => {
    expect(() => definePool(() => {})).not.toThrow();
  });

  it('releases capabilities first, then handle kinds after those they wait for, whatever the declaration order', () => {
    const spec = definePool((d) => {
      d.handles = { Lease: d.handles!.Lease!, Pool: d.handles!.Pool! };
    });
    expect(spec.resources.releaseOrder).toEqual([
      { kind: 'Ticket', capability: true, release: 'cancel', field: 'ticket' },
      { kind: 'Lease', capability: false, release: 'unlease', field: 'lease' },
      { kind: 'Pool', capability: false, release: 'drop', field: 'pool' },
    ]);
    expect(definePool(() => {}).resources.releaseOrder.map((k) => k.kind)).toEqual([
      'Ticket',
      'Lease',
      'Pool',
    ]);
  });

  it('marks what each function releases', () => {
    const spec = definePool(() => {});
    expect(
      Object.fromEntries(spec.table.filter((f) => f.releases).map((f) => [f.name, f.releases])),
    ).toEqual({
      drop: { kind: 'Pool', capability: false, field: 'pool' },
      unlease: { kind: 'Lease', capability: false, field: 'lease' },
      cancel: { kind: 'Ticket', capability: true, field: 'ticket' },
      reset: { all: true },
    });
  });

  it('knows whether guests need shared memory: only when a buffer reference appears', () => {
    expect(definePool(() => {}).resources.usesBuffers).toBe(true);
    const withoutBuffers = definePool((d) => {
      d.functions.push!.args = { lease: handle('Lease'), bytes: z.number().int().min(0) };
    });
    expect(withoutBuffers.resources.usesBuffers).toBe(false);
  });

  it('costs a data-plane call the bytes its buffer references name, unless the spec says otherwise', () => {
    const ref = { region: 1, offset: 64, length: 4096 };
    expect(
      definePool(() => {})
        .lookup('push')!
        .cost({ lease: 1, from: ref }),
    ).toBe(4096);
    expect(
      definePool(() => {})
        .lookup('make')!
        .cost({ size: 4096 }),
    ).toBe(0);
    const declared = definePool((d) => {
      d.functions.push!.cost = (args) => 2 * (args as { from: { length: number } }).from.length + 1;
    });
    expect(declared.lookup('push')!.cost({ lease: 1, from: ref })).toBe(8193);
  });
});

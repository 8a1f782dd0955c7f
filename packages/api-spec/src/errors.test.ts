import { describe, expect, it } from 'vitest';
import { isVrdmaError, VrdmaError } from './errors.js';

describe('VrdmaError', () => {
  it('crosses the wire with its code, message and chain of causes', () => {
    const root = new VrdmaError('NODE_DOWN', 'node 3 left');
    const error = new VrdmaError('TRANSPORT', 'ring broken', { cause: root });
    const back = VrdmaError.fromWire(JSON.parse(JSON.stringify(error.toWire())));
    expect(back).toBeInstanceOf(VrdmaError);
    expect(back.code).toBe('TRANSPORT');
    expect(back.message).toBe('ring broken');
    expect(isVrdmaError(back.cause, 'NODE_DOWN')).toBe(true);
    expect((back.cause as VrdmaError).message).toBe('node 3 left');
  });

  it('sends foreign causes as text, never their stack', () => {
    const wire = new VrdmaError('INTERNAL', 'boom', {
      cause: new TypeError('x is undefined'),
    }).toWire();
    expect(wire.cause).toBe('TypeError: x is undefined');
    expect(JSON.stringify(wire)).not.toContain('at ');
  });

  it('bounds the cause chain it sends', () => {
    let error = new VrdmaError('INTERNAL', 'level 0');
    for (let i = 1; i < 50; i++) error = new VrdmaError('INTERNAL', `level ${i}`, { cause: error });
    let depth = 0;
    for (
      let w: unknown = error.toWire();
      typeof w === 'object' && w !== null;
      w = (w as { cause?: unknown }).cause
    )
      depth++;
    expect(depth).toBeLessThanOrEqual(5);
  });

  it('turns odd wire input into MALFORMED_FRAME instead of throwing', () => {
    for (const odd of [null, 3, 'x', {}, { code: 1, message: 'm' }, { code: 'C' }]) {
      expect(VrdmaError.fromWire(odd).code).toBe('MALFORMED_FRAME');
    }
  });

  it('wraps anything thrown, keeping VrdmaErrors as they are', () => {
    const original = new VrdmaError('TIMEOUT', 't');
    expect(VrdmaError.from(original)).toBe(original);
    expect(VrdmaError.from(new Error('e')).code).toBe('INTERNAL');
    expect(VrdmaError.from('s', 'TRANSPORT').message).toBe('s');
  });
});

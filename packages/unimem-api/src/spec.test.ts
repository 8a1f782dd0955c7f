import { describe, expect, it } from 'vitest';
import { unimemSpec } from './spec.js';

describe('the Unimem spec', () => {
  it('defines the Unimem API with every function of DESIGN §6 on its plane', () => {
    const planes = Object.fromEntries(unimemSpec.table.map((f) => [f.name, f.plane]));
    expect(planes).toEqual({
      open: 'control',
      close: 'control',
      query: 'control',
      alloc: 'control',
      free: 'control',
      exportBuffer: 'control',
      revoke: 'control',
      openChannel: 'control',
      closeChannel: 'control',
      write: 'data',
      read: 'data',
      poll: 'data',
      wait: 'data',
    });
  });
});

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

  it('tells the host to release keys, then channels, then the buffers they use', () => {
    expect(unimemSpec.resources.releaseOrder).toEqual([
      { kind: 'Key', capability: true, release: 'revoke', field: 'key' },
      { kind: 'Channel', capability: false, release: 'closeChannel', field: 'channel' },
      { kind: 'Buffer', capability: false, release: 'free', field: 'buffer' },
    ]);
    expect(unimemSpec.lookup('close')!.releases).toEqual({ all: true });
    expect(unimemSpec.lookup('free')!.releases).toEqual({
      kind: 'Buffer',
      capability: false,
      field: 'buffer',
    });
    expect(unimemSpec.lookup('revoke')!.releases).toEqual({
      kind: 'Key',
      capability: true,
      field: 'key',
    });
    expect(unimemSpec.resources.usesBuffers).toBe(true);
  });

  it('costs a transfer the bytes of its local buffer, and every other call nothing', () => {
    const transfer = (length: number) => ({
      channel: 1,
      local: { region: 3, offset: 128, length },
      remote: 0n,
      key: 9,
    });
    const write = unimemSpec.lookup('write')!;
    const read = unimemSpec.lookup('read')!;
    expect(write.cost(write.args.parse(transfer(4096)))).toBe(4096);
    expect(read.cost(read.args.parse(transfer(100)))).toBe(100);
    expect(unimemSpec.lookup('poll')!.cost({ channel: 1, max: 16 })).toBe(0);
    expect(unimemSpec.lookup('alloc')!.cost({ size: 4096 })).toBe(0);
  });
});

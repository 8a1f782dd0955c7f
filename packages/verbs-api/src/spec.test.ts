import { createCodec, FrameKind } from '@vrdma/api-spec';
import { describe, expect, it } from 'vitest';
import { MAX_POLL, verbsSpec, type WorkCompletion } from './spec.js';

/** A completion ring's default slot (transport-shm: 256 bytes) less its 4-byte length prefix. */
const SLOT_FRAME_BYTES = 252;

describe('the verbs spec', () => {
  it('puts posts and polls on the data plane and everything else on the control plane', () => {
    const planes = Object.fromEntries(verbsSpec.table.map((f) => [f.name, f.plane]));
    const data = Object.entries(planes).filter(([, plane]) => plane === 'data');
    expect(data.map(([name]) => name).sort()).toEqual(['pollCq', 'postRecv', 'postSend', 'waitCq']);
    expect(verbsSpec.table.length).toBe(17);
    expect(verbsSpec.lookup('postSend')!.posted).toEqual({ queue: 'cq' });
    expect(verbsSpec.lookup('pollCq')!.reaps).toEqual({ queue: 'cq', max: 'max' });
  });

  it('tells the host to release queue pairs, then CQs and regions, then protection domains', () => {
    const order = verbsSpec.resources.releaseOrder.map((r) => r.kind);
    expect(order.indexOf('Qp')).toBeLessThan(order.indexOf('Cq'));
    expect(order.indexOf('Qp')).toBeLessThan(order.indexOf('Mr'));
    expect(order.indexOf('Mr')).toBeLessThan(order.indexOf('Pd'));
    expect(verbsSpec.lookup('close')!.releases).toEqual({ all: true });
    expect(verbsSpec.resources.usesBuffers).toBe(true);
  });

  it(`fits a completion frame of ${MAX_POLL} work completions in one 256-byte ring slot`, () => {
    const codec = createCodec(verbsSpec);
    const worst: WorkCompletion = {
      post: 0xffff_ffff,
      wrId: (1n << 64n) - 1n,
      status: 'refused',
      opcode: 'rdma-read',
      byteLen: 0xffff_ffff,
      qpNum: 0xffff_ffff,
      error: 'BAD_QP_STATE',
    };
    const frame = codec.encodeResult(
      verbsSpec.lookup('pollCq')!,
      1,
      { completions: Array.from({ length: MAX_POLL }, () => worst) },
      FrameKind.Completion,
    );
    expect(frame.length).toBeLessThanOrEqual(SLOT_FRAME_BYTES);
    expect(() =>
      codec.encodeResult(verbsSpec.lookup('pollCq')!, 1, {
        completions: Array.from({ length: MAX_POLL + 1 }, () => worst),
      }),
    ).toThrow();
  });

  it('fits a posted send in one ring slot too', () => {
    const codec = createCodec(verbsSpec);
    const frame = codec.encodeRequest(
      verbsSpec.lookup('postSend')!,
      1,
      {
        cq: 1,
        qp: 2,
        wrId: (1n << 64n) - 1n,
        opcode: 'rdma-read',
        local: { region: 1, offset: 2 ** 40, length: 0xffff_ffff },
        lkey: 0xffff_ffff,
        remoteAddress: (1n << 64n) - 1n,
        rkey: 2 ** 53 - 1,
      },
      FrameKind.Post,
    );
    expect(frame.length).toBeLessThanOrEqual(SLOT_FRAME_BYTES);
  });

  it('costs a post the bytes of its local buffer', () => {
    const send = verbsSpec.lookup('postSend')!;
    const args = send.args.parse({
      cq: 1,
      qp: 2,
      opcode: 'send',
      local: { region: 1, offset: 0, length: 4096 },
      lkey: 5,
    });
    expect(send.cost(args)).toBe(4096);
    expect(verbsSpec.lookup('pollCq')!.cost({ cq: 1, max: 8 })).toBe(0);
  });
});

import type { UnimemSession } from '@vrdma/unimem-api';
import type { Target } from './workloads.js';

export interface VerifyResult {
  node: number;
  bytes: number;
  written: boolean;
  readBack: boolean;
}

/**
 * The demo's application: fills a buffer with a pattern only this guest uses, writes it to
 * the target on another node, reads it back into a second buffer and compares every byte.
 */
export async function verifyRoundTrip(
  device: UnimemSession,
  target: Target,
  size: number,
  seed: number,
): Promise<VerifyResult> {
  const { node } = await device.query();
  const out = await device.alloc({ size });
  const back = await device.alloc({ size });
  const sent = device.view(out.ref);
  for (let i = 0; i < size; i++) sent[i] = (i * 31 + seed * 97 + (i >>> 8)) & 0xff;
  const { channel } = await device.openChannel({ depth: 4 });
  try {
    const write = await device.write({
      channel,
      local: out.ref,
      remote: target.address,
      key: target.key,
    });
    const read = await device.read({
      channel,
      local: back.ref,
      remote: target.address,
      key: target.key,
      fence: true,
    });
    const statuses = new Map<number, string>();
    while (statuses.size < 2) {
      const { completions } = await device.wait({ channel, timeoutMs: 5_000 });
      if (completions.length === 0) throw new Error('no completion within 5 s');
      for (const c of completions) statuses.set(c.transfer, c.status);
    }
    const got = device.view(back.ref);
    const same = Buffer.compare(got, sent) === 0;
    return {
      node,
      bytes: size,
      written: statuses.get(write.transfer) === 'ok',
      readBack: statuses.get(read.transfer) === 'ok' && same,
    };
  } finally {
    await device.closeChannel({ channel });
    await device.free({ buffer: out.buffer });
    await device.free({ buffer: back.buffer });
  }
}

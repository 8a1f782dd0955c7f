import type { GlobalAddress, UnimemSession } from '@vrdma/unimem-api';

/**
 * One application, written once against the Unimem API: exports a buffer, writes a pattern
 * into a peer's exported buffer, reads it back, and returns what it saw. It runs unchanged on
 * a native engine session and on a remoted one.
 */
export async function pingPongApp(
  device: UnimemSession,
  peer: { address: GlobalAddress; key: number },
  size: number,
): Promise<{ node: number; statuses: string[]; roundTrip: number[] }> {
  const { node } = await device.query();
  const out = await device.alloc({ size });
  const back = await device.alloc({ size });
  const view = device.view(out.ref);
  for (let i = 0; i < size; i++) view[i] = (i * 13 + 7) & 0xff;
  const { channel } = await device.openChannel({ depth: 4 });
  const w = await device.write({ channel, local: out.ref, remote: peer.address, key: peer.key });
  const r = await device.read({
    channel,
    local: back.ref,
    remote: peer.address,
    key: peer.key,
    fence: true,
  });
  const statuses: string[] = [];
  while (statuses.length < 2) {
    const { completions } = await device.wait({ channel, timeoutMs: 1_000 });
    if (completions.length === 0) throw new Error('no completion within a second');
    for (const c of completions)
      statuses.push(
        `${c.transfer === w.transfer ? 'write' : c.transfer === r.transfer ? 'read' : '?'}:${c.status}`,
      );
  }
  await device.closeChannel({ channel });
  const roundTrip = Array.from(device.view(back.ref).subarray(0, 8));
  await device.free({ buffer: out.buffer });
  await device.free({ buffer: back.buffer });
  return { node, statuses, roundTrip };
}

import type { RemoteDevice } from '../compose/remote-device.js';
import { proofPattern, seedOf, type ZeroCopyProof } from './vm-result.js';

/**
 * Has the engine write a pattern into a buffer of the guest's that the guest itself never
 * touches: the guest fills a source buffer, exports a target and RDMA-writes source to target.
 * The target's offset goes back to the host, whose own mapping of the VM's shared memory must
 * show the same bytes there: the engine wrote the VM's memory, no copy in between. The
 * target stays allocated: the host looks before the guest's ledger is cleaned up.
 */
export async function proveZeroCopy(
  device: RemoteDevice,
  label: string,
  length: number,
): Promise<ZeroCopyProof> {
  const seed = seedOf(label);
  const pattern = proofPattern(seed, length);
  const source = await device.alloc({ size: length });
  const target = await device.alloc({ size: length });
  device.view(source.ref).set(pattern);
  device.view(target.ref).fill(0);
  const { key, address } = await device.exportBuffer({ buffer: target.buffer, access: 'write' });
  const { channel } = await device.openChannel({ depth: 2 });
  await device.write({ channel, local: source.ref, remote: address, key });
  const { completions } = await device.wait({ channel, timeoutMs: 30_000 });
  const written = completions.length === 1 && completions[0]!.status === 'ok';
  const sameInGuest = written && Buffer.compare(device.view(target.ref), pattern) === 0;
  return { offset: target.ref.offset, length, seed, sameInGuest };
}

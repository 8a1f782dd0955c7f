import type { MockCluster } from '@vrdma/engine-mock';
import type { GlobalAddress } from '@vrdma/unimem-api';

/** A 4 KiB buffer on node 1 of `cluster`, exported read-write, as a remote peer offers it. */
export async function exportedPeerBuffer(cluster: MockCluster) {
  const peer = cluster.engine(1).openSession({ label: 'peer' });
  await peer.open();
  const buffer = await peer.alloc({ size: 4096 });
  const { key, address } = await peer.exportBuffer({ buffer: buffer.buffer, access: 'read-write' });
  return { key, address: address as GlobalAddress, view: peer.view(buffer.ref) };
}

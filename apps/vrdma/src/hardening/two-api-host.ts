import { createHost, type Host, service } from '@vrdma/backend';
import { createLocalCluster } from '@vrdma/engine-unimem';
import { verbsFabricOver } from '@vrdma/engine-verbs';
import { type GlobalAddress, type UnimemSession, unimemSpec } from '@vrdma/unimem-api';
import { verbsSpec } from '@vrdma/verbs-api';
import type { GuestHandle } from '../compose/guest-handle.js';
import { startThreadGuest } from '../compose/thread-guests.js';
import type { Target } from '../workloads/workloads.js';

/**
 * A host that serves two APIs on one emulated two-node cluster: Unimem on node 0, and verbs
 * over the same hardware. A guest's hello picks its API. Honest guests are Unimem threads whose
 * targets are buffers a peer session exports on node 1.
 */
export class TwoApiHost {
  private readonly guests: GuestHandle[] = [];
  private peer?: UnimemSession;

  private constructor(
    readonly host: Host,
    private readonly cluster: ReturnType<typeof createLocalCluster>,
  ) {}

  static create(): TwoApiHost {
    const cluster = createLocalCluster({ nodes: [0, 1], config: { sessionMemory: 64 << 20 } });
    const [verbs] = verbsFabricOver(cluster.nodes);
    const host = createHost({
      services: [service(unimemSpec, cluster.node(0)), service(verbsSpec, verbs!)],
    });
    return new TwoApiHost(host, cluster);
  }

  async startGuest(_kind: 'thread', label: string, memoryBytes: number): Promise<GuestHandle> {
    const guest = await startThreadGuest(this.host, { label, memoryBytes });
    this.guests.push(guest);
    return guest;
  }

  /** A fresh buffer of `size` bytes on node 1, exported read-write: an honest guest's target. */
  async exportTarget(size: number): Promise<Target & { view: Uint8Array }> {
    if (!this.peer) {
      this.peer = this.cluster.node(1).openSession({ label: 'peer' });
      await this.peer.open();
    }
    const buffer = await this.peer.alloc({ size });
    const { key, address } = await this.peer.exportBuffer({
      buffer: buffer.buffer,
      access: 'read-write',
    });
    return {
      key,
      address: address as GlobalAddress,
      length: size,
      view: this.peer.view(buffer.ref),
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.guests.splice(0).map((g) => g.stop()));
    await this.host.close();
    await this.peer?.dispose();
    await this.cluster.shutdown();
  }
}

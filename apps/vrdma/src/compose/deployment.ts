import { createHost, type Host, type HostConfigInput, service } from '@vrdma/backend';
import { createLocalLibfabricCluster } from '@vrdma/engine-libfabric';
import { createMockCluster } from '@vrdma/engine-mock';
import { createLocalCluster, type EngineConfigInput } from '@vrdma/engine-unimem';
import {
  type GlobalAddress,
  type UnimemEngine,
  type UnimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { startVmBenchGuest } from '../vm/vm-bench-guest.js';
import type { Target } from '../workloads/workloads.js';
import { type AttachSocket, openAttachSocket } from './attach-socket.js';
import type { GuestHandle } from './guest-handle.js';
import { startProcessGuest } from './process-guests.js';
import { startThreadGuest } from './thread-guests.js';

/** `vm`: a QEMU virtual machine (see src/vm), for the bench; slow to boot, two at most. */
export type GuestKind = 'thread' | 'process' | 'vm';

export interface DeploymentOptions {
  nodes: number;
  /** The emulated Unimem engine (default), the deterministic mock, or libfabric. */
  engineKind?: 'unimem' | 'mock' | 'libfabric';
  engine?: EngineConfigInput;
  /** The libfabric provider (`tcp`, `shm`, ...) when engineKind is 'libfabric'. */
  provider?: string;
  host?: HostConfigInput;
}

interface Cluster {
  node(id: number): UnimemEngine;
  shutdown(): Promise<void>;
}

function makeCluster(nodes: number[], options: DeploymentOptions): Cluster {
  if (options.engineKind === 'mock') {
    const mock = createMockCluster({ nodes, sessionMemory: options.engine?.sessionMemory });
    return { node: (id) => mock.engine(id), shutdown: async () => {} };
  }
  if (options.engineKind === 'libfabric') {
    const { sessionMemory } = options.engine ?? {};
    const config = { provider: options.provider ?? 'tcp', iface: 'lo', sessionMemory };
    return createLocalLibfabricCluster({ nodes, config });
  }
  return createLocalCluster({ nodes, config: options.engine });
}

/**
 * A whole vrdma installation in one process: an emulated Unimem cluster, a host (backend) on
 * node 0 that guests attach to, and a peer application on the last node that exports the
 * buffers guests write to. What `vrdma demo` and `vrdma bench` run.
 */
export class Deployment {
  private readonly guests: GuestHandle[] = [];
  private readonly sessions: UnimemSession[] = [];
  private peerSession?: UnimemSession;
  /** Opened with the first process guest: thread-only deployments need no socket. */
  private attachSocket?: Promise<AttachSocket>;

  private constructor(
    readonly cluster: Cluster,
    readonly host: Host,
    readonly nodes: number[],
  ) {}

  static create(options: DeploymentOptions): Deployment {
    const nodes = Array.from({ length: options.nodes }, (_, i) => i);
    const cluster = makeCluster(nodes, options);
    const host = createHost({
      services: [service(unimemSpec, cluster.node(0))],
      config: options.host,
    });
    return new Deployment(cluster, host, nodes);
  }

  /** Exports a fresh buffer of `size` bytes on the peer node, writable and readable by anyone with the key. */
  async exportTarget(size: number): Promise<Target & { view: Uint8Array }> {
    const peer = await this.peer();
    const buffer = await peer.alloc({ size });
    const { key, address } = await peer.exportBuffer({
      buffer: buffer.buffer,
      access: 'read-write',
    });
    return { key, address: address as GlobalAddress, length: size, view: peer.view(buffer.ref) };
  }

  /** A native application's session on the host's node: no frontend, no transport, no backend. */
  async nativeSession(): Promise<UnimemSession> {
    const session = this.cluster.node(0).openSession({ label: 'native' });
    this.sessions.push(session);
    await session.open();
    return session;
  }

  async startGuest(kind: GuestKind, label: string, memoryBytes: number): Promise<GuestHandle> {
    const guest =
      kind === 'process'
        ? await startProcessGuest(await this.socket(), { label, memoryBytes })
        : kind === 'vm'
          ? await startVmBenchGuest(this.host, { label, memoryBytes })
          : await startThreadGuest(this.host, { label, memoryBytes });
    this.guests.push(guest);
    return guest;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.guests.splice(0).map((g) => g.stop()));
    await this.host.close();
    // A socket that failed to open has nothing to close; its error went to startGuest.
    const socket = await this.attachSocket?.catch(() => undefined);
    this.attachSocket = undefined;
    await socket?.close();
    await Promise.allSettled(this.sessions.splice(0).map((s) => s.dispose()));
    await this.peerSession?.dispose();
    await this.cluster.shutdown();
  }

  private socket(): Promise<AttachSocket> {
    this.attachSocket ??= openAttachSocket(this.host);
    return this.attachSocket;
  }

  private async peer(): Promise<UnimemSession> {
    if (!this.peerSession) {
      const last = this.nodes[this.nodes.length - 1]!;
      this.peerSession = this.cluster.node(last).openSession({ label: 'peer' });
      await this.peerSession.open();
    }
    return this.peerSession;
  }
}

import { createServer, type Server, type Socket } from 'node:net';
import type { ClusterConfig } from '../cluster-config.js';
import type { EngineConfig } from '../config.js';
import type { Fabric, MemoryOwner, Route } from '../fabric.js';
import { PeerLink } from './peer-link.js';
import type { FabricAuth } from './refusal-log.js';
import { ServedConnection } from './served-connection.js';

/**
 * Connections that have not authenticated yet, at once: beyond, new ones are dropped at once,
 * so that a process opening connections it never authenticates holds at most this many sockets.
 */
export const MAX_UNAUTHENTICATED = 64;

/**
 * The Unimem interconnect over TCP: this node listens for its peers' requests and dials each
 * peer for its own. Every connection starts by authenticating both nodes with the cluster's
 * secret (see handshake.ts); a peer that cannot is refused, with a line in the log. One connection per direction and pair keeps each one simple: requests one
 * way, answers the other.
 */
export class TcpFabric implements Fabric {
  private readonly links = new Map<number, PeerLink>();
  private readonly routes = new Map<number, Route>();
  private readonly served = new Set<ServedConnection>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly self: MemoryOwner,
    private readonly config: EngineConfig,
    private readonly auth: FabricAuth,
  ) {
    this.routes.set(self.node, { kind: 'memory', owner: self });
    for (const peer of cluster.nodes) {
      if (peer.id === self.node) continue;
      const link = new PeerLink(peer, {
        self: self.node,
        segmentSize: config.segmentSize,
        peerTimeoutMs: config.peerTimeoutMs,
        reconnectMs: config.reconnectMs,
        auth,
        onChange: () => this.changed(),
      });
      this.links.set(peer.id, link);
      this.routes.set(peer.id, { kind: 'link', link });
    }
  }

  members(): readonly number[] {
    return this.cluster.nodes.map((n) => n.id);
  }

  isUp(node: number): boolean {
    if (node === this.self.node) return this.self.up;
    return this.links.get(node)?.up === true;
  }

  route(node: number): Route | undefined {
    return this.routes.get(node);
  }

  /** Starts listening at this node's address, then dials every peer. */
  async start(): Promise<void> {
    const me = this.cluster.nodes.find((n) => n.id === this.self.node);
    if (!me) throw new RangeError(`node ${this.self.node} is not in the cluster config`);
    const server = createServer((socket) => {
      const waiting = [...this.served].filter((c) => !c.authenticated).length;
      if (waiting >= MAX_UNAUTHENTICATED) {
        this.auth.log.refuse(
          `fabric: node ${this.self.node} refused the connection from ${socket.remoteAddress}:${socket.remotePort}: ${waiting} connections are still authenticating`,
        );
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      const { segmentSize, peerTimeoutMs } = this.config;
      const connection = new ServedConnection(
        socket,
        this.self,
        segmentSize,
        peerTimeoutMs,
        this.auth,
        () => {
          this.served.delete(connection);
          this.sockets.delete(socket);
        },
      );
      this.served.add(connection);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(me.port, me.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    for (const link of this.links.values()) link.connect();
  }

  /** Resolves once every peer in `nodes` (default: all) is reachable; rejects after the timeout. */
  async waitForPeers(timeoutMs: number, nodes = [...this.links.keys()]): Promise<void> {
    const ready = () => nodes.every((n) => this.isUp(n));
    if (ready()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        const missing = nodes.filter((n) => !this.isUp(n));
        reject(new Error(`node ${this.self.node}: peers ${missing.join(', ')} unreachable`));
      }, timeoutMs);
      const check = () => {
        if (!ready()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  /** Closes every link and connection and stops listening. */
  async close(): Promise<void> {
    for (const link of this.links.values()) link.close();
    for (const connection of this.served) connection.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private changed(): void {
    for (const check of [...this.waiters]) check();
  }
}

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { VrdmaError } from '@vrdma/api-spec';
import type { LibfabricConfigInput } from '../config.js';
import type { ControlMessage } from '../control-messages.js';
import { LibfabricNode } from '../node.js';
import { type ClusterFile, splitHostPort } from './cluster-file.js';
import { readControlLines, socketLink } from './control-connection.js';

const RECONNECT_MS = 200;
const HELLO_TIMEOUT_MS = 10_000;

export interface StartLibfabricNodeOptions {
  /** This node's id: one of the cluster's. */
  node: number;
  cluster: ClusterFile;
  /** Limits and the rest; provider and iface come from the cluster file unless set here. */
  config?: LibfabricConfigInput;
}

/** A libfabric node joined to its cluster by TCP control connections. */
export interface LibfabricTcpNode {
  readonly engine: LibfabricNode;
  /** Resolves once every other node of the cluster is connected (or rejects after timeoutMs). */
  whenConnected(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a node and its control plane: it listens on its own control address, connects to
 * every node with a smaller id (retrying until that node is up), and accepts every node with
 * a larger one. A connection starts with a hello (node id, provider, libfabric endpoint name);
 * when it closes, for whatever reason (SIGKILL included), the peer is down at once and its
 * transfers end 'node-down'. A node that comes back is connected again.
 */
export async function startLibfabricNode(
  options: StartLibfabricNodeOptions,
): Promise<LibfabricTcpNode> {
  const { cluster, node } = options;
  const self = cluster.nodes.find((n) => n.node === node);
  if (!self) throw new VrdmaError('INVALID_ARGUMENT', `node ${node} is not in the cluster file`);
  const engine = new LibfabricNode(node, {
    provider: cluster.provider,
    iface: cluster.iface,
    ...options.config,
  });
  const members = new Set(cluster.nodes.map((n) => n.node));
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  let closed = false;

  const hello: ControlMessage = {
    t: 'hello',
    node,
    provider: engine.provider,
    name: engine.name.toString('base64'),
  };

  const connected = () => cluster.nodes.every((n) => engine.isUp(n.node));
  const notify = () => {
    if (connected()) for (const wake of [...waiters]) wake();
  };

  /** Runs a connection: hello both ways, then messages to the engine until it closes. */
  const serve = (socket: Socket, expected: number | undefined, onClose: () => void) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    let peer: number | undefined;
    const helloTimer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    socket.write(`${JSON.stringify(hello)}\n`);
    readControlLines(socket, (message) => {
      if (peer === undefined) {
        const valid =
          message.t === 'hello' &&
          members.has(message.node) &&
          message.node !== node &&
          (expected === undefined ? message.node > node : message.node === expected) &&
          message.provider === engine.provider &&
          !engine.isUp(message.node);
        if (!valid || message.t !== 'hello') {
          socket.destroy();
          return;
        }
        clearTimeout(helloTimer);
        peer = message.node;
        try {
          engine.attachPeer(peer, Buffer.from(message.name, 'base64'), socketLink(socket));
        } catch {
          peer = undefined;
          socket.destroy();
          return;
        }
        notify();
        return;
      }
      engine.onControlMessage(peer, message);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(helloTimer);
      sockets.delete(socket);
      if (peer !== undefined) engine.detachPeer(peer);
      onClose();
    });
  };

  const server: Server = createServer((socket) => {
    if (closed) socket.destroy();
    else serve(socket, undefined, () => {});
  });
  const { host, port } = splitHostPort(self.control);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });

  const dial = (member: { node: number; control: string }) => {
    if (closed) return;
    const target = splitHostPort(member.control);
    const socket = createConnection(target.port, target.host);
    let opened = false;
    socket.once('connect', () => {
      opened = true;
    });
    serve(socket, member.node, () => {
      if (!closed) setTimeout(() => dial(member), opened ? RECONNECT_MS : RECONNECT_MS).unref();
    });
  };
  for (const member of cluster.nodes) if (member.node < node) dial(member);

  return {
    engine,
    whenConnected(timeoutMs = 30_000) {
      if (connected()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(done);
          reject(new VrdmaError('TIMEOUT', `node ${node}: the cluster did not connect in time`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        waiters.add(done);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await engine.shutdown();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

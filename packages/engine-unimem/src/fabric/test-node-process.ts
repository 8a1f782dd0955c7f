/**
 * A cluster node in its own process, driven by its parent over the IPC channel: the fabric
 * tests start several of these and kill some. Not part of the package's API.
 */
import type { BufferRef, Handle } from '@vrdma/api-spec';
import type { GlobalAddress } from '@vrdma/unimem-api';
import { testPattern } from '@vrdma/unimem-api/testing';
import type { UnimemSessionImpl } from '../session.js';
import { startTcpNode, type TcpNode } from '../tcp-node.js';
import { reap } from '../test-helpers.js';

export type NodeCommand =
  | { op: 'start'; cluster: unknown; node: number; config?: Record<string, number> }
  | { op: 'waitPeers'; timeoutMs: number; nodes?: number[] }
  | { op: 'query' }
  | { op: 'alloc'; size: number }
  | { op: 'free'; buffer: number }
  | { op: 'export'; buffer: number; access: 'read' | 'write' | 'read-write' }
  | { op: 'revoke'; key: number }
  | { op: 'fill'; ref: BufferRef; seed: number }
  | { op: 'check'; ref: BufferRef; seed: number }
  | { op: 'isZero'; ref: BufferRef }
  | { op: 'transfer'; kind: 'write' | 'read'; local: BufferRef; remote: bigint; key: number };

let node: TcpNode | undefined;
let session: UnimemSessionImpl | undefined;
let channel: Handle<'Channel'> | undefined;

async function run(command: NodeCommand): Promise<unknown> {
  if (command.op === 'start') {
    node = await startTcpNode({
      cluster: command.cluster,
      node: command.node,
      config: command.config,
    });
    session = node.engine.openSession({ label: `process-node-${command.node}` });
    await session.open();
    channel = (await session.openChannel({ depth: 64 })).channel;
    return { node: command.node };
  }
  if (!node || !session || channel === undefined) throw new Error('start first');
  switch (command.op) {
    case 'waitPeers':
      await node.waitForPeers(command.timeoutMs, command.nodes);
      return null;
    case 'query':
      return session.query();
    case 'alloc':
      return session.alloc({ size: command.size });
    case 'free':
      return session.free({ buffer: command.buffer as Handle<'Buffer'> });
    case 'export':
      return session.exportBuffer({
        buffer: command.buffer as Handle<'Buffer'>,
        access: command.access,
      });
    case 'revoke':
      return session.revoke({ key: command.key });
    case 'fill':
      session.view(command.ref).set(testPattern(command.ref.length, command.seed));
      return null;
    case 'check': {
      // Byte for byte, here where the bytes landed: the first difference, or -1.
      const actual = session.view(command.ref);
      const expected = testPattern(command.ref.length, command.seed);
      if (Buffer.compare(actual, expected) === 0) return -1;
      return actual.findIndex((x, i) => x !== expected[i]);
    }
    case 'isZero':
      return session.view(command.ref).every((x) => x === 0);
    case 'transfer': {
      const args = {
        channel,
        local: command.local,
        remote: command.remote as GlobalAddress,
        key: command.key,
      };
      const { transfer } = await session[command.kind](args);
      const [completion] = await reap(session, channel, 1);
      if (completion?.transfer !== transfer) throw new Error('unexpected completion');
      return completion;
    }
  }
}

process.on('message', (message: { id: number; command: NodeCommand }) => {
  run(message.command).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: unknown) =>
      process.send?.({
        id: message.id,
        ok: false,
        error: String(error),
        code: (error as { code?: string }).code,
      }),
  );
});

process.on('disconnect', () => {
  // The parent went away: leave nothing behind.
  void (node?.shutdown() ?? Promise.resolve()).finally(() => process.exit(0));
});

import { connect, type Socket } from 'node:net';
import {
  ACCEPTOR_HELLO_BYTES,
  fabricKey,
  NONCE_BYTES,
  newNonce,
  PROOF_BYTES,
  proofOf,
} from './handshake.js';
import {
  encodeHeader,
  HEADER_SIZE,
  MessageType,
  PROTOCOL_MAGIC,
  PROTOCOL_VERSION,
} from './protocol.js';

/** A raw fabric connection for tests, past the handshake: what a node (or an impostor) sends. */
export interface TestPeer {
  readonly socket: Socket;
  /** Resolves once the node has closed the connection. */
  readonly closed: Promise<void>;
}

/** A HELLO as a dialer sends it: this version, a fresh nonce. */
export function dialerHello(node: number, nonce = newNonce()): Buffer {
  return Buffer.concat([
    encodeHeader({
      type: MessageType.HELLO,
      status: PROTOCOL_VERSION,
      node,
      key: PROTOCOL_MAGIC,
      length: NONCE_BYTES,
    }),
    nonce,
  ]);
}

/**
 * Dials `port` as node `node` and runs the dialer's side of the handshake with `secret` (none:
 * the empty key a node without a secret uses). Resolves once the PROOF is sent, whether or not
 * the node takes it: a wrong secret shows as the node closing the connection.
 */
export function dialAsPeer(port: number, node: number, secret?: string): Promise<TestPeer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    const nonce = newNonce();
    let answer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < HEADER_SIZE + ACCEPTOR_HELLO_BYTES) return;
      socket.off('data', onData);
      const acceptor = answer.readUInt16LE(2);
      const payload = answer.subarray(HEADER_SIZE, HEADER_SIZE + ACCEPTOR_HELLO_BYTES);
      const nonces = { dialer: nonce, acceptor: payload.subarray(0, NONCE_BYTES) };
      const proof = proofOf(fabricKey(secret), 'dialer', { dialer: node, acceptor }, nonces);
      socket.write(
        Buffer.concat([encodeHeader({ type: MessageType.PROOF, length: PROOF_BYTES }), proof]),
      );
      resolve({ socket, closed });
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.once('close', () =>
      reject(new Error('the node closed the connection before its HELLO')),
    );
    socket.on('connect', () => socket.write(dialerHello(node, nonce)));
  });
}

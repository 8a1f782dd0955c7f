import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PayloadSink } from './message-reader.js';
import { PROTOCOL_VERSION, ProtocolError } from './protocol.js';

/**
 * Node authentication on the fabric: a challenge-response over a secret every node of the
 * cluster shares, with a fresh random nonce from each side (so that no proof can be replayed
 * on another connection), in the shape of RFC 2104 HMAC-SHA256 proofs:
 *
 *   dialer   → acceptor  HELLO  nonce_d (32 bytes)
 *   acceptor → dialer    HELLO  nonce_a (32) ‖ HMAC(secret, "acceptor" ‖ ids ‖ nonce_d ‖ nonce_a)
 *   dialer   → acceptor  PROOF  HMAC(secret, "dialer" ‖ ids ‖ nonce_d ‖ nonce_a)
 *
 * Each side checks the other's proof before it trusts a byte more: the dialer knows it reached
 * a node, the acceptor that a node dialled it. The role and both node ids are in each proof,
 * so a proof is good for one direction between two nodes only and cannot be reflected back.
 */
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
/** The acceptor's HELLO payload: its nonce, then its proof. */
export const ACCEPTOR_HELLO_BYTES = NONCE_BYTES + PROOF_BYTES;
/** How long a connection may take to authenticate before it is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The key the proofs are made with: the cluster's secret (empty when it has none). */
export function fabricKey(secret: string | undefined): Buffer {
  return Buffer.from(secret ?? '', 'utf8');
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The proof `role` gives on the connection from node `dialer` to node `acceptor`. */
export function proofOf(
  key: Buffer,
  role: 'dialer' | 'acceptor',
  ids: { dialer: number; acceptor: number },
  nonces: { dialer: Uint8Array; acceptor: Uint8Array },
): Buffer {
  const context = Buffer.alloc(4);
  context.writeUInt16LE(ids.dialer, 0);
  context.writeUInt16LE(ids.acceptor, 2);
  return createHmac('sha256', key)
    .update(`vrdma-unimem-fabric/${PROTOCOL_VERSION} ${role}\0`)
    .update(context)
    .update(nonces.dialer)
    .update(nonces.acceptor)
    .digest();
}

/** Compares proofs in constant time: how long it takes says nothing of how much matched. */
export function sameProof(expected: Buffer, presented: Uint8Array): boolean {
  return presented.length === expected.length && timingSafeEqual(expected, presented);
}

/**
 * Collects a handshake payload of exactly `length` bytes, then hands it over whole. A payload
 * of another size is a protocol error: the header's length is checked before a byte is kept.
 */
export function collectPayload(
  what: string,
  announced: number,
  length: number,
  onComplete: (bytes: Buffer) => void,
): PayloadSink {
  if (announced !== length)
    throw new ProtocolError(`${what} carries ${announced} bytes, not ${length}`);
  const bytes = Buffer.alloc(length);
  return {
    data: (part, at) => bytes.set(part, at),
    end: () => onComplete(bytes),
  };
}

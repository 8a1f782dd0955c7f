import { createHash } from 'node:crypto';

/** SHA-256 of the canonical spec, hex. Same spec, same fingerprint, on every machine. */
export function fingerprintOf(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex');
}

/** The short form shown in messages. */
export function shortFingerprint(fingerprint: string | number): string {
  return typeof fingerprint === 'number'
    ? (fingerprint >>> 0).toString(16).padStart(8, '0')
    : fingerprint.slice(0, 8);
}

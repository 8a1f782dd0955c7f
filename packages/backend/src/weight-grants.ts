import { createHash, timingSafeEqual } from 'node:crypto';
import { VrdmaError } from '@vrdma/api-spec';

/** A scheduling weight granted to whoever presents the token whose SHA-256 digest this is. */
export interface WeightGrant {
  /** SHA-256 of the token, 64 hex digits: the host never keeps the token itself. */
  sha256: string;
  weight: number;
}

/** The SHA-256 digest of a token, as a grant names it. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The weights a host grants by secret token, never by label (a label is the guest's own
 * claim). Tokens are compared by digest, in constant time, against every grant, so that the
 * time a check takes tells nothing about which grant, or how much of one, matched.
 */
export class WeightGrants {
  private readonly grants: ReadonlyArray<{ digest: Buffer; weight: number }>;

  constructor(grants: readonly WeightGrant[]) {
    this.grants = grants.map((g) => ({ digest: Buffer.from(g.sha256, 'hex'), weight: g.weight }));
  }

  /** The weight `token` earns: 1 without a token; PERMISSION_DENIED for a token no grant knows. */
  weightOf(token: string | undefined): number {
    if (token === undefined) return 1;
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let weight: number | undefined;
    for (const grant of this.grants)
      if (timingSafeEqual(grant.digest, presented) && weight === undefined) weight = grant.weight;
    if (weight === undefined)
      throw new VrdmaError('PERMISSION_DENIED', 'the token presented is not one this host grants');
    return weight;
  }
}

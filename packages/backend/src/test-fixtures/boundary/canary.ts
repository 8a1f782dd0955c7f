// The canary memfd each of the boundary test's host and guests holds open.
import { createMemfdRegion, type MemfdRegion } from '@vrdma/memory';

// Reachable for the life of the process: a collected mapping would be unmapped.
const held: MemfdRegion[] = [];

/**
 * A memfd holding `secret`, its descriptor kept open for the life of the process (host and
 * guests close theirs once sent or mapped). It gives the /proc/<pid>/fd route something to
 * find in every process, so a refusal there is the permission check, not an empty folder.
 */
export function holdCanary(secret: string): void {
  const canary = createMemfdRegion(0, 4096, 'vrdma-canary');
  canary.bytes.set(new TextEncoder().encode(secret));
  held.push(canary);
}

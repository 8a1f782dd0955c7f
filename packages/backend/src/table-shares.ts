import type { Service } from './service.js';

/** One guest's share of a table the engine's tenants share, and what it was cut from. */
export interface TableShare {
  readonly share: number;
  readonly capacity: number;
}

/**
 * The share of each shared table one guest may hold: for every kind the spec marks `shared`
 * whose engine reports a capacity, that capacity split among `sharers` guests (at least 1).
 * With no more than `sharers` guests, each can always get its whole share: together they
 * cannot fill the table, so a newcomer is never locked out by guests within their limits.
 */
export function tableShares(service: Service, sharers: number): ReadonlyMap<string, TableShare> {
  const shares = new Map<string, TableShare>();
  const { handles, capabilities } = service.spec.resources;
  const sharedKinds = [...Object.entries(handles), ...Object.entries(capabilities)]
    .filter(([, def]) => def.shared)
    .map(([kind]) => kind);
  for (const kind of sharedKinds) {
    const capacity = service.engine.capacityOf?.(kind);
    if (capacity === undefined || !Number.isFinite(capacity) || capacity < 0) continue;
    shares.set(kind, { share: Math.max(1, Math.floor(capacity / sharers)), capacity });
  }
  return shares;
}

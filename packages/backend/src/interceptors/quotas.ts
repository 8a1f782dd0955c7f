import type { Quotas } from '../config.js';
import type { GuestObjects } from '../guest-objects.js';
import { isPending, type SyncInterceptor } from '../interceptor.js';
import { Refusal } from '../refusal.js';
import type { TableShare } from '../table-shares.js';

/** Calls in flight and reservations of one guest, as the quota interceptor keeps them. */
export class QuotaState {
  inflight = 0;
  readonly reserved = new Map<string, number>();
  reservedBytes = 0;
}

const CREATES_NOTHING: readonly string[] = [];

const NO_SHARES: ReadonlyMap<string, TableShare> = new Map();

/**
 * Per-guest limits, by the spec's own kind names: objects of each kind, bytes of sized handles
 * and calls in flight, and the guest's share of each table the engine's tenants share. What a
 * call would create is reserved before the engine is called, so concurrent calls cannot
 * overshoot a limit together; QUOTA_EXCEEDED otherwise.
 */
export function quotas(
  limits: Quotas,
  objects: GuestObjects,
  state: QuotaState,
  shares: ReadonlyMap<string, TableShare> = NO_SHARES,
): SyncInterceptor {
  const quotaOf = (kind: string) => limits.kinds[kind] ?? limits.perKind;
  const limitOf = (kind: string) => Math.min(quotaOf(kind), shares.get(kind)?.share ?? Infinity);
  const refusalOf = (kind: string) => {
    const shared = shares.get(kind);
    return shared && shared.share < quotaOf(kind)
      ? `share of ${shared.share} ${kind} reached (a table of ${shared.capacity} shared by up to ${limits.sharers} guests)`
      : `quota of ${quotaOf(kind)} ${kind} reached`;
  };
  return (next) => (call) => {
    const { fn } = call;
    if (state.inflight + 1 > limits.calls)
      throw new Refusal(
        'quota',
        'QUOTA_EXCEEDED',
        `quota of ${limits.calls} calls in flight reached`,
      );
    const { handles, capabilities } = fn.resultKinds;
    const kinds: readonly string[] =
      handles.size + capabilities.size > 0 ? [...handles, ...capabilities] : CREATES_NOTHING;
    for (const kind of kinds) {
      const reserved = state.reserved.get(kind) ?? 0;
      if (objects.count(kind) + reserved + 1 > limitOf(kind))
        throw new Refusal('quota', 'QUOTA_EXCEEDED', refusalOf(kind));
    }
    const bytes = objects.bytesCreatedBy(fn, call.args);
    if (bytes > 0 && objects.bytes + state.reservedBytes + bytes > limits.bytes)
      throw new Refusal('quota', 'QUOTA_EXCEEDED', `quota of ${limits.bytes} bytes reached`);

    state.inflight++;
    state.reservedBytes += bytes;
    for (const kind of kinds) state.reserved.set(kind, (state.reserved.get(kind) ?? 0) + 1);
    // Created objects are counted by now (GuestObjects); the reservation has done its work.
    const release = () => {
      state.inflight--;
      state.reservedBytes -= bytes;
      for (const kind of kinds) state.reserved.set(kind, state.reserved.get(kind)! - 1);
    };
    let result: unknown;
    try {
      result = next(call);
    } catch (error) {
      release();
      throw error;
    }
    if (!isPending(result)) {
      release();
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        release();
        return value;
      },
      (error: unknown) => {
        release();
        throw error;
      },
    );
  };
}

import { VrdmaError } from '@vrdma/api-spec';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from './constants.js';

/** A feature set: bit `n` stands for feature number `n` (features go up to bit 63). */
export type Features = bigint;

export function featureBit(bit: number): Features {
  return 1n << BigInt(bit);
}

export function hasFeature(features: Features, bit: number): boolean {
  return (features & featureBit(bit)) !== 0n;
}

/** What our device offers: modern virtio, indirect descriptors and event indices. */
export const DEVICE_FEATURES: Features =
  featureBit(VIRTIO_F_VERSION_1) |
  featureBit(VIRTIO_RING_F_INDIRECT_DESC) |
  featureBit(VIRTIO_RING_F_EVENT_IDX);

/** The ring features this implementation understands; anything else is refused. */
const KNOWN_FEATURES = DEVICE_FEATURES;

/**
 * Driver side of negotiation (§3.1.1): accept only what the device offers and we know.
 * VERSION_1 is mandatory: without it the ring would be legacy (guest-endian), which we refuse.
 */
export function negotiateFeatures(offered: Features, wanted: Features = KNOWN_FEATURES): Features {
  const accepted = offered & wanted & KNOWN_FEATURES;
  if (!hasFeature(accepted, VIRTIO_F_VERSION_1)) {
    throw new VrdmaError('TRANSPORT', 'the device does not offer VIRTIO_F_VERSION_1');
  }
  return accepted;
}

/**
 * Device side of negotiation: the driver's choice must be a subset of the offer and contain
 * VERSION_1 (§2.2.2: the device may refuse a feature subset it cannot support).
 */
export function checkDriverFeatures(offered: Features, chosen: Features): void {
  const extra = chosen & ~offered;
  if (extra !== 0n) {
    throw new VrdmaError(
      'TRANSPORT',
      `the driver accepted features the device did not offer: 0x${extra.toString(16)}`,
    );
  }
  if (!hasFeature(chosen, VIRTIO_F_VERSION_1)) {
    throw new VrdmaError('TRANSPORT', 'the driver did not accept VIRTIO_F_VERSION_1');
  }
}

/**
 * `vring_need_event` from virtio_ring.h: true when moving the index from `oldIdx` to `newIdx`
 * crossed `eventIdx`, i.e. the other side asked to be told once `eventIdx` was passed.
 * All three are 16-bit ring indices; the arithmetic wraps at 65536 like the C `__u16` casts.
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

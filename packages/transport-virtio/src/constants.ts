/**
 * Numbers fixed by VIRTIO 1.2 §2.7 and Linux include/uapi/linux/virtio_ring.h. They are the
 * wire format: a driver written by anyone, to the spec, must see the same values.
 */

/** Descriptor flags (struct vring_desc.flags). */
export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;

/** The device asks the driver not to kick (used->flags), meaningful without EVENT_IDX. */
export const VRING_USED_F_NO_NOTIFY = 1;
/** The driver asks the device not to interrupt (avail->flags), meaningful without EVENT_IDX. */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

/** Feature bit numbers. */
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
export const VIRTIO_RING_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

/** Sizes and alignments of the three areas of a split virtqueue. */
export const VRING_DESC_SIZE = 16;
export const VRING_USED_ELEM_SIZE = 8;
export const VRING_DESC_ALIGN_SIZE = 16;
export const VRING_AVAIL_ALIGN_SIZE = 2;
export const VRING_USED_ALIGN_SIZE = 4;

/** The largest queue a split virtqueue may have (§2.7: "Queue Size ... maximum 32768"). */
export const MAX_QUEUE_SIZE = 32768;

/** Device status bits (VIRTIO 1.2 §2.1). */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

/* Prints the layout facts of <linux/virtio_ring.h> as JSON, to check our arithmetic. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/virtio_ring.h>

static _Alignas(4096) unsigned char block[1 << 20];

int main(void) {
  struct vring vr;
  vring_init(&vr, 256, block, 4096);
  printf("{\"desc_size\":%zu,\"desc_addr\":%zu,\"desc_len\":%zu,\"desc_flags\":%zu,"
         "\"desc_next\":%zu,\"used_elem_size\":%zu,\"avail_ring\":%zu,\"used_ring\":%zu,"
         "\"vring_size_1_4\":%u,\"vring_size_128_4096\":%u,\"vring_size_256_4096\":%u,"
         "\"vring_size_32768_4096\":%u,\"legacy_256_avail\":%td,\"legacy_256_used\":%td,"
         "\"legacy_256_used_event\":%td,\"legacy_256_avail_event\":%td}\n",
         sizeof(struct vring_desc), offsetof(struct vring_desc, addr),
         offsetof(struct vring_desc, len), offsetof(struct vring_desc, flags),
         offsetof(struct vring_desc, next), sizeof(struct vring_used_elem),
         offsetof(struct vring_avail, ring), offsetof(struct vring_used, ring), vring_size(1, 4),
         vring_size(128, 4096), vring_size(256, 4096), vring_size(32768, 4096),
         (unsigned char *)vr.avail - block, (unsigned char *)vr.used - block,
         (unsigned char *)&vring_used_event(&vr) - block,
         (unsigned char *)&vring_avail_event(&vr) - block);
  return 0;
}

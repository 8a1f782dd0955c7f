/*
 * A virtio driver written against <linux/virtio_ring.h> only: it attaches to a vrdma virtio
 * device offered in shared memory and sends echo calls through a split virtqueue.
 *
 *   usage: virtio-driver <calls> <burst> <event_idx 0|1> [hostile]
 *
 * The shared memory arrives as a file descriptor (SCM_RIGHTS) on descriptor 3, a UNIX socket
 * shared with the host, with its size in decimal as the message; no path names it. Doorbells
 * are byte streams: one byte written to stdout is a kick, one byte read from stdin is an
 * interrupt. A summary line goes to stderr. Follows the attach procedure in README.md.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_ring.h>

/* The configuration block at offset 0 of the file (README.md, "Attaching a driver"). */
#define CFG_MAGIC 0
#define CFG_VERSION 4
#define CFG_DEVICE_FEATURES 8
#define CFG_DRIVER_FEATURES 16
#define CFG_STATUS 24
#define CFG_QUEUE_SIZE_MAX 28
#define CFG_QUEUE_SIZE 32
#define CFG_FAULT 36
#define CFG_DESC 40
#define CFG_AVAIL 48
#define CFG_USED 56
#define CFG_BYTES 128

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define F_VERSION_1 32
#define QUEUE_SIZE 16
#define REQ_BYTES 256
#define RESP_BYTES 256

static uint8_t *base;
static unsigned kicks, interrupts;

static uint32_t *cfg32(unsigned at) { return (uint32_t *)(base + at); }
static uint64_t *cfg64(unsigned at) { return (uint64_t *)(base + at); }

static void set_status(uint32_t bits) {
  __atomic_or_fetch(cfg32(CFG_STATUS), htole32(bits), __ATOMIC_SEQ_CST);
}

static void kick(void) {
  if (write(1, "k", 1) != 1) exit(3);
  kicks++;
}

static void wait_interrupt(void) {
  char bytes[64];
  ssize_t n = read(0, bytes, sizeof bytes);
  if (n <= 0) {
    fprintf(stderr, "host went away\n");
    exit(4);
  }
  interrupts++;
}

static void fail(const char *why) {
  fprintf(stderr, "FAIL %s\n", why);
  exit(2);
}

/* One message on descriptor 3: the memory's size in decimal, and the memory's descriptor. */
static int receive_memory(size_t *size) {
  char data[32] = {0};
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(int))];
  } control;
  struct iovec iov = {data, sizeof data - 1};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  ssize_t n;
  do n = recvmsg(3, &msg, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0 || (msg.msg_flags & MSG_CTRUNC)) fail("no memory received");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int)))
    fail("no descriptor received");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  *size = strtoul(data, NULL, 10);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 4) fail("usage");
  int calls = atoi(argv[1]), burst = atoi(argv[2]), event_idx = atoi(argv[3]);
  int hostile = argc > 4;
  if (burst < 1 || burst > QUEUE_SIZE / 2) fail("burst");

  size_t size;
  int fd = receive_memory(&size);
  struct stat st;
  if (fstat(fd, &st) != 0 || size < CFG_BYTES || (size_t)st.st_size < size) fail("memory size");
  base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) fail("mmap");
  close(fd); /* the mapping stays; no descriptor is left to find */
  close(3);

  /* 1. Find the device, reset, ACKNOWLEDGE | DRIVER. */
  if (le32toh(*cfg32(CFG_MAGIC)) != 0x74726976 || le32toh(*cfg32(CFG_VERSION)) != 1) fail("magic");
  __atomic_store_n(cfg32(CFG_STATUS), 0, __ATOMIC_SEQ_CST);
  set_status(S_ACKNOWLEDGE | S_DRIVER);

  /* 2. Negotiate: VERSION_1, INDIRECT_DESC, and EVENT_IDX if asked. */
  uint64_t offered = le64toh(*cfg64(CFG_DEVICE_FEATURES));
  uint64_t wanted = (1ull << F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
                    (event_idx ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
  uint64_t features = offered & wanted;
  if (!(features & (1ull << F_VERSION_1))) fail("no VERSION_1");
  *cfg64(CFG_DRIVER_FEATURES) = htole64(features);
  set_status(S_FEATURES_OK);
  int use_event_idx = (features >> VIRTIO_RING_F_EVENT_IDX) & 1;
  int use_indirect = (features >> VIRTIO_RING_F_INDIRECT_DESC) & 1;

  /* 3. Lay the queue out after the block, with the header's alignments, and program it. */
  if (le32toh(*cfg32(CFG_QUEUE_SIZE_MAX)) < QUEUE_SIZE) fail("queue max");
  struct vring vr;
  vr.num = QUEUE_SIZE;
  uintptr_t desc = CFG_BYTES;
  uintptr_t avail = desc + sizeof(struct vring_desc) * QUEUE_SIZE;
  uintptr_t used = (avail + sizeof(__virtio16) * (3 + QUEUE_SIZE) + VRING_USED_ALIGN_SIZE - 1) &
                   ~(uintptr_t)(VRING_USED_ALIGN_SIZE - 1);
  uintptr_t buffers = (used + sizeof(__virtio16) * 3 + sizeof(struct vring_used_elem) * QUEUE_SIZE +
                       15) & ~(uintptr_t)15;
  if (buffers + QUEUE_SIZE * (REQ_BYTES + RESP_BYTES + 32) > (uintptr_t)size) fail("size");
  vr.desc = (void *)(base + desc);
  vr.avail = (void *)(base + avail);
  vr.used = (void *)(base + used);
  memset(base + desc, 0, buffers - desc);
  *cfg32(CFG_QUEUE_SIZE) = htole32(QUEUE_SIZE);
  *cfg64(CFG_DESC) = htole64(desc);
  *cfg64(CFG_AVAIL) = htole64(avail);
  *cfg64(CFG_USED) = htole64(used);
  set_status(S_DRIVER_OK);
  kick();

  /* 4. Calls: slot s owns descriptors 2s and 2s+1, a request, a reply and an indirect table. */
  uint16_t avail_idx = 0, last_used = 0;
  int done = 0, sent = 0;
  while (done < calls) {
    int n = calls - sent < burst ? calls - sent : burst;
    uint16_t old = avail_idx;
    for (int s = 0; s < n; s++) {
      uint32_t call_id = (uint32_t)(sent + s + 1);
      uint8_t *req = base + buffers + s * REQ_BYTES;
      uint64_t resp = buffers + QUEUE_SIZE * REQ_BYTES + s * RESP_BYTES;
      uint64_t table = buffers + QUEUE_SIZE * (REQ_BYTES + RESP_BYTES) + s * 32;
      int len = 12 + snprintf((char *)req + 12, REQ_BYTES - 12, "hello from C #%u", call_id);
      req[0] = 1; /* frame version */
      req[1] = 1; /* request */
      req[2] = 1; req[3] = 0; /* fn id 1 */
      uint32_t id_le = htole32(call_id);
      memcpy(req + 4, &id_le, 4);
      memset(req + 8, 0, 4);
      uint16_t head = (uint16_t)(2 * s);
      struct vring_desc *d = vr.desc;
      struct vring_desc out = {htole64(buffers + s * REQ_BYTES), htole32(len), 0, 0};
      struct vring_desc in = {htole64(resp), htole32(RESP_BYTES), htole16(VRING_DESC_F_WRITE), 0};
      if (use_indirect && (call_id & 1)) {
        struct vring_desc *t = (struct vring_desc *)(base + table);
        out.flags = htole16(VRING_DESC_F_NEXT);
        out.next = htole16(1);
        t[0] = out;
        t[1] = in;
        struct vring_desc ind = {htole64(table), htole32(2 * sizeof(struct vring_desc)),
                                 htole16(VRING_DESC_F_INDIRECT), 0};
        d[head] = ind;
      } else {
        out.flags = htole16(VRING_DESC_F_NEXT);
        out.next = htole16(head + 1);
        d[head] = out;
        d[head + 1] = in;
      }
      if (hostile && call_id == 3) {
        head = QUEUE_SIZE + 5; /* an index outside the table: the device must refuse it */
      }
      vr.avail->ring[avail_idx % QUEUE_SIZE] = htole16(head);
      avail_idx++;
    }
    __atomic_store_n(&vr.avail->idx, htole16(avail_idx), __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int need = use_event_idx
                   ? vring_need_event(le16toh(__atomic_load_n(&vring_avail_event(&vr), __ATOMIC_ACQUIRE)),
                                      avail_idx, old)
                   : !(le16toh(__atomic_load_n(&vr.used->flags, __ATOMIC_ACQUIRE)) & VRING_USED_F_NO_NOTIFY);
    if (need) kick();
    sent += n;

    /* Reap this burst: ask for an interrupt at the next used entry, then sleep until it. */
    int reaped = 0;
    while (reaped < n) {
      if (use_event_idx)
        __atomic_store_n(&vring_used_event(&vr), htole16(last_used), __ATOMIC_SEQ_CST);
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
      while (le16toh(__atomic_load_n(&vr.used->idx, __ATOMIC_ACQUIRE)) == last_used) {
        if (le32toh(__atomic_load_n(cfg32(CFG_STATUS), __ATOMIC_ACQUIRE)) & S_NEEDS_RESET) {
          fprintf(stderr, "NEEDS_RESET fault=%u after %d calls\n", le32toh(*cfg32(CFG_FAULT)),
                  done);
          return hostile ? 0 : 5;
        }
        wait_interrupt();
      }
      while (le16toh(__atomic_load_n(&vr.used->idx, __ATOMIC_ACQUIRE)) != last_used) {
        struct vring_used_elem e = vr.used->ring[last_used % QUEUE_SIZE];
        uint32_t id = le32toh(e.id), len = le32toh(e.len);
        if (id % 2 || id >= QUEUE_SIZE) fail("used id");
        uint8_t *reply = base + buffers + QUEUE_SIZE * REQ_BYTES + (id / 2) * RESP_BYTES;
        uint32_t reply_id;
        memcpy(&reply_id, reply + 4, 4);
        uint32_t expected = (uint32_t)(sent - n + id / 2 + 1);
        char want[64];
        int want_len = snprintf(want, sizeof want, "HELLO FROM C #%u", expected);
        if (len != (uint32_t)(12 + want_len) || reply[1] != 2 || le32toh(reply_id) != expected ||
            memcmp(reply + 12, want, want_len) != 0)
          fail("reply");
        last_used++;
        reaped++;
        done++;
      }
    }
  }
  fprintf(stderr, "ok calls=%d kicks=%u interrupts=%u event_idx=%d indirect=%d\n", done, kicks,
          interrupts, use_event_idx, use_indirect);
  /* 5. Detach: reset the device and tell the host. */
  __atomic_store_n(cfg32(CFG_STATUS), 0, __ATOMIC_SEQ_CST);
  kick();
  return 0;
}

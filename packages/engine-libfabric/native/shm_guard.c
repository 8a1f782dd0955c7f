// See shm_guard.h for what the guard is for.
#define _GNU_SOURCE
#include "shm_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rdma/fabric.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/** How long a lock may stay held, while a peer is gone, before the watchdog releases it. */
#define STUCK_MS 2000
#define WATCH_EVERY_MS 50
#define HEAD_MAP_SIZE 4096
#define NAME_MAX_LEN 256

// The head of struct smr_region in libfabric 1.17 (include/ofi_shm.h, SMR_VERSION 4): the part
// the guard reads (version, owner pid) and the lock it may release.
#define SMR_V4 4
struct smr_head_v4 {
  uint8_t version;
  uint8_t resv;
  uint16_t flags;
  int32_t pid;
  uint8_t cma_cap_peer;
  uint8_t cma_cap_self;
  uint32_t max_sar_buf_per_peer;
  void* base_addr;
  pthread_spinlock_t lock;
};
_Static_assert(offsetof(struct smr_head_v4, pid) == 4, "smr_region.pid moved");
_Static_assert(offsetof(struct smr_head_v4, lock) == 24, "smr_region.lock moved");

typedef struct region {
  int forgotten;
  char file[NAME_MAX_LEN];
  struct smr_head_v4* head;
  pid_t pid;
  int unlinked;
} region_t;

struct shm_guard {
  pthread_t thread;
  pthread_mutex_t mutex;
  atomic_int running;
  atomic_llong busy_since_ms;
  atomic_llong busy_region;
  region_t own;
  region_t* peers;
  uint64_t peer_count;
};

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Gone: no such process here, or one that died and waits to be reaped. */
static int process_gone(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return kill(pid, 0) == -1 && errno == ESRCH;
  char line[512];
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = '\0';
  const char* state = strrchr(line, ')');
  return state && (state[2] == 'Z' || state[2] == 'X');
}

/** The region file behind an shm endpoint name (`fi_shm://pid:uid:idx` or a bare name). */
static int region_file(const char* name, char* out) {
  const char* prefixes[] = {"fi_shm://", "fi_ns://"};
  for (int i = 0; i < 2; i++)
    if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) name += strlen(prefixes[i]);
  if (!*name || strchr(name, '/') || strlen(name) >= NAME_MAX_LEN) return 0;
  snprintf(out, NAME_MAX_LEN, "%s", name);
  return 1;
}

/** Maps the head of a region whose owner is alive and whose layout the guard knows. */
static int map_region(region_t* r, const char* name) {
  memset(r, 0, sizeof *r);
  if (!region_file(name, r->file)) return 0;
  int fd = shm_open(r->file, O_RDWR, 0);
  if (fd < 0) return 0;
  void* head = mmap(NULL, HEAD_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (head == MAP_FAILED) return 0;
  r->head = head;
  r->pid = r->head->pid;
  // A region of another layout, or an owner this process cannot see (another pid namespace),
  // is left alone: the guard could not tell whether its lock holder is gone.
  if (r->head->version != SMR_V4 || r->pid <= 0 || process_gone(r->pid)) {
    munmap(head, HEAD_MAP_SIZE);
    r->head = NULL;
    return 0;
  }
  return 1;
}

static void unmap_region(region_t* r) {
  if (r->head) munmap(r->head, HEAD_MAP_SIZE);
  r->head = NULL;
}

static region_t* region_at(shm_guard_t* g, long long index) {
  if (index == SHM_GUARD_OWN) return &g->own;
  if (index < 0 || (uint64_t)index >= g->peer_count || !g->peers[index].head) return NULL;
  return &g->peers[index];
}

/** Whether a process that may hold a lock of this endpoint's regions is gone. */
static int some_peer_gone(shm_guard_t* g) {
  for (uint64_t i = 0; i < g->peer_count; i++)
    if (g->peers[i].head && g->peers[i].pid != getpid() && process_gone(g->peers[i].pid))
      return 1;
  return 0;
}

/** Removes the files of forgotten peers whose process is gone (SIGKILL leaves them behind). */
static void remove_dead_files(shm_guard_t* g) {
  for (uint64_t i = 0; i < g->peer_count; i++) {
    region_t* r = &g->peers[i];
    if (!r->head || !r->forgotten || r->unlinked || !process_gone(r->pid)) continue;
    // The file still names the dead owner: a new endpoint under the same name would not. The
    // head stays mapped, so the peer still counts as gone if a lock it held is found stuck.
    if (r->head->pid == r->pid) shm_unlink(r->file);
    r->unlinked = 1;
  }
}

static void release_if_stuck(shm_guard_t* g) {
  long long since = atomic_load(&g->busy_since_ms);
  if (since == 0 || now_ms() - since < STUCK_MS) return;
  region_t* r = region_at(g, atomic_load(&g->busy_region));
  if (!r || !some_peer_gone(g)) return;
  // Still inside the same call: the lock it spins on is held by a process that is gone.
  if (atomic_load(&g->busy_since_ms) != since) return;
  pthread_spin_unlock(&r->head->lock);
  fprintf(stderr,
          "engine-libfabric: released the shm lock of region %s (owner pid %d), held by a peer "
          "that died holding it; libfabric 1.17's shm provider cannot recover it by itself\n",
          r->file, (int)r->pid);
}

static void* watch(void* arg) {
  shm_guard_t* g = arg;
  struct timespec pause = {0, WATCH_EVERY_MS * 1000000L};
  while (atomic_load(&g->running)) {
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&g->mutex);
    release_if_stuck(g);
    remove_dead_files(g);
    pthread_mutex_unlock(&g->mutex);
  }
  return NULL;
}

shm_guard_t* shm_guard_start(const char* provider, const char* own_name) {
  uint32_t version = fi_version();
  if (strcmp(provider, "shm") != 0 || FI_MAJOR(version) != 1 || FI_MINOR(version) != 17)
    return NULL;
  shm_guard_t* g = calloc(1, sizeof *g);
  if (!g) return NULL;
  if (!map_region(&g->own, own_name) || g->own.pid != getpid()) {
    unmap_region(&g->own);
    free(g);
    return NULL;
  }
  pthread_mutex_init(&g->mutex, NULL);
  atomic_store(&g->running, 1);
  if (pthread_create(&g->thread, NULL, watch, g) != 0) {
    unmap_region(&g->own);
    pthread_mutex_destroy(&g->mutex);
    free(g);
    return NULL;
  }
  return g;
}

void shm_guard_stop(shm_guard_t* g) {
  if (!g) return;
  atomic_store(&g->running, 0);
  pthread_join(g->thread, NULL);
  remove_dead_files(g);
  for (uint64_t i = 0; i < g->peer_count; i++) unmap_region(&g->peers[i]);
  free(g->peers);
  unmap_region(&g->own);
  pthread_mutex_destroy(&g->mutex);
  free(g);
}

void shm_guard_add_peer(shm_guard_t* g, uint64_t fi_addr, const char* name) {
  if (!g || fi_addr > 1u << 20) return;
  pthread_mutex_lock(&g->mutex);
  if (fi_addr >= g->peer_count) {
    uint64_t count = fi_addr + 16;
    region_t* peers = realloc(g->peers, sizeof *peers * count);
    if (peers) {
      memset(peers + g->peer_count, 0, sizeof *peers * (count - g->peer_count));
      g->peers = peers;
      g->peer_count = count;
    }
  }
  if (fi_addr < g->peer_count) {
    unmap_region(&g->peers[fi_addr]);
    map_region(&g->peers[fi_addr], name);
  }
  pthread_mutex_unlock(&g->mutex);
}

void shm_guard_forget_peer(shm_guard_t* g, uint64_t fi_addr) {
  if (!g) return;
  pthread_mutex_lock(&g->mutex);
  if (fi_addr < g->peer_count) g->peers[fi_addr].forgotten = 1;
  pthread_mutex_unlock(&g->mutex);
}

void shm_guard_enter(shm_guard_t* g, int64_t region) {
  if (!g) return;
  atomic_store(&g->busy_region, region);
  atomic_store(&g->busy_since_ms, now_ms());
}

void shm_guard_leave(shm_guard_t* g) {
  if (g) atomic_store(&g->busy_since_ms, 0);
}

// shm_guard: keeps a node on libfabric 1.17's shm provider alive when a peer dies holding a lock.
//
// The shm provider guards each endpoint's region (a file under /dev/shm that every peer maps)
// with a spinlock that lives in the region itself. The owner holds it while it progresses its
// command queue, copies of large transfers included; a sender holds it while it queues a
// command. A process killed while it holds one leaves it held for good, and every later fi_write
// or fi_read to that region, or progress of it, spins forever on the node's only thread.
//
// The guard maps the head of every region the endpoint talks to, notes which region the thread
// may be spinning on while it is inside libfabric, and runs a watchdog thread: a lock that stays
// held for STUCK_MS while a process that could hold it (a peer of this endpoint) is gone is
// released, with one line on stderr. The guard only arms itself for libfabric 1.17 and a region
// whose head has the layout it knows; on anything else it does nothing.
#ifndef VRDMA_SHM_GUARD_H
#define VRDMA_SHM_GUARD_H

#include <stdint.h>

typedef struct shm_guard shm_guard_t;

/** The region the thread spins on when it progresses its own completion queue. */
#define SHM_GUARD_OWN (-1)

/** A guard for the endpoint named `own_name` (fi_getname), or NULL where none is needed. */
shm_guard_t* shm_guard_start(const char* provider, const char* own_name);
void shm_guard_stop(shm_guard_t* guard);

/** Maps the head of the region of the peer inserted at `fi_addr` under `name`. */
void shm_guard_add_peer(shm_guard_t* guard, uint64_t fi_addr, const char* name);
/** The peer at `fi_addr` went away: its region file is removed once its process is gone. */
void shm_guard_forget_peer(shm_guard_t* guard, uint64_t fi_addr);

/** The thread enters libfabric, where it may spin on the lock of `region` (a fi_addr, or OWN). */
void shm_guard_enter(shm_guard_t* guard, int64_t region);
void shm_guard_leave(shm_guard_t* guard);

#endif

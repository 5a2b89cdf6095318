/*
 * pp_internal.h - what the pieces of the process pool share, and nobody
 * else should use: the wire format between the parent and its workers, the
 * fork server's messages, and a few helpers.
 *
 * The pieces:
 *   procpool.c      the parent side: queue, collector thread, handles, maps
 *   pp_worker.c     the child side: the loop a worker process runs
 *   pp_forkserver.c the small single-threaded process that forks workers
 *   pp_shm.c        shared regions and the shared dictionary
 */
#ifndef POOLS_PP_INTERNAL_H
#define POOLS_PP_INTERNAL_H

#include "procpool.h"
#include "util.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- Parent -> worker: a task frame ----------------------------------- */

enum pp_kind {
    PP_KIND_BYTES = 1, /* count items of item_size bytes in the payload */
    PP_KIND_SHM,       /* count items of item_size bytes at address base */
    PP_KIND_STAR       /* count tuples of argc byte strings (see below) */
};

/*
 * A task frame is this header followed by `payload` bytes.  One frame
 * carries one chunk: items first .. first + count - 1 of one call.
 * STAR payload, per item: argc lengths (uint32_t), then the argc strings.
 * The function pointer travels as the bytes of the pointer itself: it is
 * valid in the worker because the worker is a fork of this program.
 */
struct pp_task_hdr {
    uint64_t seq;       /* the frame's number, echoed in its results */
    uint64_t fn;        /* the bytes of a pp_task_fn pointer */
    uint64_t base;      /* SHM: address of item 0 (in every process) */
    uint64_t first;     /* index of the frame's first item in its call */
    uint64_t item_size; /* BYTES, SHM: bytes per item; STAR: argc */
    uint32_t kind;      /* enum pp_kind */
    uint32_t count;     /* items in this frame, >= 1 */
    uint32_t payload;   /* bytes after the header */
    uint32_t pad;
};

/* Largest payload of one task frame: one starmap item at most. */
#define PP_PAYLOAD_MAX (PP_ARG_MAX + 4 * PP_STARMAP_ARGS_MAX)

/* ---- Worker -> parent: one result frame per item ---------------------- */

/* Set in pp_result_hdr.flags when pp_out_write failed: code is its error. */
#define PP_RES_OUT_FAILED 1u

struct pp_result_hdr {
    uint64_t seq;   /* the task frame's seq */
    uint32_t item;  /* which item of that frame, 0 .. count - 1 */
    int32_t code;   /* what the task returned (or the pp_out error) */
    uint32_t flags; /* PP_RES_* */
    uint32_t len;   /* result bytes after the header, <= PP_RESULT_MAX */
};

/*
 * What a worker tells the parent without a message, in a page shared by
 * the parent and all workers (one entry per worker slot): how many items
 * it has started and when the current one started.  The collector reads it
 * to enforce the time limit, and to tell a worker that died in a task from
 * one that died between tasks.  Written by the worker; the collector
 * zeroes an entry before asking for the worker that will use it.
 */
struct pp_status {
    _Atomic uint64_t started;    /* items started by this worker */
    _Atomic int64_t started_ns;  /* CLOCK_MONOTONIC when the last began */
    _Atomic int busy;            /* 1 while a task runs */
};

/* The result being built by a task (the struct behind struct pp_out). */
struct pp_out {
    unsigned char *buf; /* header space, then the result bytes */
    size_t len;         /* bytes used, header included */
    size_t cap;
    int error;          /* first pp_out_write failure, or 0 */
};

/* What a worker needs, set before the fork server starts (so inherited). */
struct pp_worker_cfg {
    struct pp_status *status;    /* the shared page, one entry per slot */
    unsigned max_tasks;          /* max_tasks_per_child, 0: no limit */
    bool timed;                  /* keep started_ns up to date */
    sigset_t mask;               /* the signal mask tasks run with */
};

/*
 * A worker's life, in the child forked by the fork server: serves frames
 * from fd until EOF or max_tasks, then _exit(0).  Never returns.
 */
_Noreturn void pp_worker_run(const struct pp_worker_cfg *cfg, int fd,
                             unsigned slot);

/* ---- Parent <-> fork server ------------------------------------------ */

enum pp_srv_op {
    PP_SRV_SPAWN = 1, /* parent: fork a worker for slot, on the fd sent */
    PP_SRV_KILL,      /* parent: SIGKILL pid, if it is still our child */
    PP_SRV_SPAWNED,   /* server: slot's worker is pid */
    PP_SRV_FAILED,    /* server: could not fork for slot: error; slot
                         -1: could not start at all, and exits */
    PP_SRV_DIED       /* server: pid was reaped with wait status */
};

/* One message, a datagram on a SOCK_SEQPACKET socket. */
struct pp_srv_msg {
    int32_t op;
    int32_t slot;
    int32_t pid;
    int32_t value; /* FAILED: errno; DIED: the wait status */
};

/*
 * Forks the fork server.  It serves requests on one end of a socketpair;
 * the other end comes back in *ctl (O_CLOEXEC, non-blocking), its pid in
 * *pid.  max_workers bounds the children it will have at once.  Call it
 * with every signal blocked in the calling thread.  Returns 0 or an errno.
 */
int pp_server_start(const struct pp_worker_cfg *cfg, unsigned max_workers,
                    pid_t *pid, int *ctl);

/*
 * Sends one request; with fd >= 0 the fd goes along (SCM_RIGHTS).
 * Returns 0, EAGAIN (socket full: try again when writable) or an errno.
 */
int pp_server_send(int ctl, const struct pp_srv_msg *m, int fd);

/* Receives one reply.  Returns 0, EAGAIN, EPIPE (server gone) or errno. */
int pp_server_recv(int ctl, struct pp_srv_msg *m);

/* ---- Helpers ---------------------------------------------------------- */

/* MAP_SHARED | MAP_ANONYMOUS memory, zero-filled; 0, EINVAL or ENOMEM. */
int pp_shared_alloc(size_t size, void **out);
void pp_shared_free(void *p, size_t size);

/* CLOCK_MONOTONIC in nanoseconds: util.c's clock, signed for the
 * differences the collector takes. */
static inline int64_t pp_now_ns(void)
{
    return (int64_t)pb_now_ns();
}

/* When a pp_shm region was created, for pp_map_shm's check. */
int64_t pp_shm_created_ns(const struct pp_shm *shm);

#endif /* POOLS_PP_INTERNAL_H */

/*
 * pp_internal.h - what the pieces of the process pool share, and nobody
 * else should use: the wire format between the parent and its workers, the
 * fork server's messages, and a few helpers.
 *
 * The pieces:
 *   procpool.c      the parent's API: create, submit, maps, results
 *   pp_handle.c     an apply's handle: wait, get, free, the direct path
 *   pp_collector.c  the parent's collector thread: dispatch, frames, ending
 *                   items, the loop
 *   pp_slots.c      a worker slot's life: births, deaths, time limits
 *   pp_worker.c     the child side: the loop a worker process runs
 *   pp_forkserver.c the small single-threaded process that forks workers
 *   pp_shm.c        shared regions and the shared dictionary
 */
#ifndef POOLS_PP_INTERNAL_H
#define POOLS_PP_INTERNAL_H

#include "procpool.h"
#include "trace.h"
#include "util.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

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
    uint32_t map;       /* recording: 0 an apply, else 1 + its map call */
    int64_t queued_ns;  /* recording: when its call was queued */
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

/* The biggest frame the parent hands over in shared memory. */
#define PP_INBOX_SIZE 1024

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
    /*
     * Bytes of result frames this worker has produced, ever: the ones it
     * has sent and the ones still in its answer ring (below).  A waiter
     * polls it to learn, without a system call, that an answer is there.
     */
    _Atomic uint64_t produced;
    /*
     * The doorbell: the parent adds one after each send of task bytes to
     * this worker.  An idle worker polls it, memory only, then sleeps on
     * it (a futex) with `sleep` set, so that the parent, or another worker
     * in a cascade, knows it must be woken (pp_worker.c).
     */
    _Atomic uint32_t bell;
    _Atomic uint32_t sleep; /* PP_AWAKE, PP_ASLEEP or PP_OWED */
    _Atomic uint32_t ready; /* 1 once the worker has prefaulted */
    /*
     * The shared-memory hand-off (pp_worker.c, pp_handle.c): the
     * parent adds one to `sends` after each send into the socket (and
     * when it closes it), so that the worker calls recv only when there
     * is something to read; `inbox` holds a frame the parent handed over
     * without the socket (`inbox_len` bytes, 0 once the worker took it);
     * `reader` is 1 while a caller reads this worker's answers straight
     * from its ring; `claimed` counts the answer bytes someone has taken
     * on, the worker to send them or that caller, whoever claims first.
     */
    _Atomic uint32_t sends;
    _Atomic uint32_t reader;
    _Atomic uint32_t inbox_len;
    _Atomic uint64_t claimed;
    /* Recording: the event id and start of the frame it runs now
     * (pp_trace.c records the frame of a worker that died in it). */
    _Atomic uint64_t frame_id;
    _Atomic uint64_t frame_ns;
    unsigned char inbox[PP_INBOX_SIZE];
};

/*
 * The answer ring: each worker writes every result frame into a ring of
 * its own in shared memory before it starts the next item, and sends the
 * ring's bytes through the socket later, many frames in one send (see
 * pp_worker.c).  Stream byte x of the worker's answers sits at ring[x %
 * PP_RING_SIZE] until it has been sent; a frame bigger than half the ring
 * is sent straight away instead.  64 KiB holds 2730 empty answers (24
 * bytes each): many for one send, little memory per worker.
 */
#define PP_RING_SIZE ((size_t)64 * 1024)


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
    unsigned nslots;             /* entries in it */
    unsigned char *rings;        /* PP_RING_SIZE bytes per slot, shared */
    /*
     * 1 while the collector sleeps, or is about to, in poll(), shared: a
     * worker with answers in its ring then sends them through its socket,
     * which wakes the collector; else it leaves them in the ring for the
     * collector to take (pp_worker.c's tell, pp_collector.c's loop).
     */
    _Atomic uint32_t *collector_asleep;
    unsigned max_tasks;          /* max_tasks_per_child, 0: no limit */
    bool timed;                  /* keep started_ns up to date */
    bool no_ring;                /* struct pp_tuning's switches */
    bool no_poll;
    bool no_prefault;
    bool always_send;
    sigset_t mask;               /* the signal mask tasks run with */
    /* Recording (pp_tuning.record_events), in shared memory, or NULL:
     * worker slot k writes track k + 1 (trace.h). */
    struct pb_trace *trace;
};

/*
 * A worker's life, in the child forked by the fork server: serves frames
 * from fd until EOF or max_tasks, then _exit(0).  Never returns.
 */
_Noreturn void pp_worker_run(const struct pp_worker_cfg *cfg, int fd,
                             unsigned slot);

/* A worker's sleep (struct pp_status.sleep). */
enum {
    PP_AWAKE,  /* running, polling, or in read() on its socket */
    PP_ASLEEP, /* on its doorbell futex */
    PP_OWED    /* asleep, with work sent: the next worker up wakes it */
};

/*
 * Parent: rings st's doorbell after a send.  wake: wake the worker if it
 * sleeps; else only mark it PP_OWED, for pp_bell_cascade or a worker.
 */
void pp_bell_ring(struct pp_status *st, bool wake);

/* Parent: wakes the worker at st if it is PP_OWED.  True if it was. */
bool pp_bell_owed_wake(struct pp_status *st);

/*
 * Parent: waits until the worker at st has mapped the shared regions in
 * (prefault), or 10 s at most: a pool is then ready when pp_pool_create
 * returns, and a first map does not pay for the mapping.
 */
void pp_ready_wait(struct pp_status *st);

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

/* ---- The parent's data (procpool.c, pp_collector.c, pp_slots.c) ------ */

/*
 * How long to wait before asking again when the server could not fork
 * (process table or memory full): 100 ms, a guess that is long enough not
 * to spin and short enough that nobody waits noticeably once it clears.
 */
#define PP_SPAWN_RETRY_NS (100 * 1000000LL)

/*
 * One call: an apply or a map.  Its items share everything but their
 * index.  Set up before the call is queued, then read-only, except
 * `remaining` (pool->lock).
 */
struct call {
    pp_task_fn *fn;
    enum pp_kind kind;
    const unsigned char *bytes; /* BYTES: item 0's argument */
    const struct pp_arg *star;  /* STAR: item 0's tuple */
    uintptr_t shm_base;         /* SHM: item 0's address */
    size_t item_size;           /* BYTES, SHM: bytes per item; STAR: argc */
    size_t remaining;           /* items not ended yet (pool->lock) */
    struct pp_handle *h;        /* an apply's handle, or NULL */
    struct pp_results *res;     /* a map's results, or NULL */
    /* Recording only: when it was queued, and 0 for an apply, else 1 +
     * the pool's number of this map call (pp_task_hdr carries both). */
    int64_t queued_ns;
    uint32_t map;
};

/* Items [first, first + count) of a call, waiting in the queue. */
struct job {
    struct job *next;
    struct call *call;
    size_t first, count;
    bool retry; /* malloc'd when a crash sent items back: freed when sent */
};

/* Items sent to a worker in one frame and not all answered yet. */
struct piece {
    struct call *call;
    size_t first;
    uint32_t count, done;
    uint64_t seq;
};

struct pp_handle {
    struct call call;
    struct job job;
    unsigned char *arg; /* our copy of the argument */
    pp_callback_fn *cb;
    void *cb_arg;
    long spin_ns;                /* pp_options.tuning->spin_ns */
    bool direct;                 /* the waiter may read its worker itself */
    _Atomic int slot;            /* where its item was last sent, or -1 */
    struct pp_pool *pool;        /* valid while the handle is not done */
    struct pp_handle *done_next; /* the collector's list of handles to end */
    _Atomic int refs;            /* the caller's and the pool's */
    pthread_mutex_t mu;          /* protects nothing but the wait below */
    pthread_cond_t cv;           /* signalled when done becomes true */
    _Atomic bool done;
    /* Written by the collector before done is set, read-only after. */
    struct pp_outcome outcome;
    void *result;
    size_t result_len;
};

struct item {
    struct pp_outcome o;
    size_t off; /* result bytes at r->arena + off */
    size_t len;
};

struct pp_results {
    size_t count;
    struct item *items;
    unsigned char *arena;
    size_t arena_len, arena_cap;
};

enum slot_state {
    SLOT_EMPTY,    /* no worker, none wanted */
    SLOT_WANTED,   /* a worker is wanted: SPAWN not sent yet */
    SLOT_STARTING, /* SPAWN sent, waiting for SPAWNED */
    SLOT_RUNNING   /* a live worker (perhaps dying: see eof) */
};

/*
 * One worker slot.  Protected by pool->lock.  Only the collector changes
 * state, fd and pid, so it may read those without the lock.
 */
struct slot {
    enum slot_state state;
    int fd;            /* our end of its socket, or -1 */
    pid_t pid;
    bool eof;          /* its socket is finished: waiting for DIED */
    bool kill_wanted;  /* a KILL request is to be sent */
    bool kill_sent;
    bool timeout_kill; /* ... because item number timeout_item ran long */
    uint64_t timeout_item;
    uint64_t sent;     /* items sent to this worker */
    uint64_t answered; /* results read from it */
    int64_t retry_at;  /* SLOT_WANTED: not before this time */
    struct piece *ring; /* in-flight frames, oldest first */
    unsigned head, n;
    unsigned char *in; /* results read, not yet cut into frames */
    size_t in_len, in_cap;
    uint64_t rcvd;     /* bytes of its answer stream put into in */
    /* A lone apply whose caller reads this worker itself (a lease: the
     * collector leaves the socket alone), or NULL. */
    struct pp_handle *direct;
    bool watched;      /* in the collector's poll set (collector's) */
    unsigned char *out; /* frames not yet written */
    size_t out_pos, out_len, out_cap;
    unsigned out_frames; /* frames in out, all unsent while out_pos is 0 */
};

struct pp_pool {
    /* Set by pp_pool_create, read-only after. */
    unsigned nworkers;
    unsigned max_tasks;
    unsigned timeout_ms;
    unsigned prefetch;
    long spin_ns;
    bool no_direct, no_handoff, cascade; /* struct pp_tuning's switches */
    size_t rings_size;
    int64_t created_ns; /* regions made after this are not in workers */
    struct pp_worker_cfg wcfg;
    size_t status_size;
    size_t trace_size;  /* bytes of wcfg.trace, when recording */
    int wake_rd, wake_wr; /* submitters write a byte, the collector polls */
    pthread_t collector;

    pthread_mutex_t lock;
    pthread_cond_t cv;
    /* Protected by lock. */
    struct job *qhead, *qtail; /* the queue */
    size_t queued;             /* items in the queue */
    size_t outstanding;        /* items submitted and not ended */
    uint64_t seq;              /* last frame number used */
    bool wake_pending;         /* a wake byte is on its way */
    bool need_watch;           /* work went to a socket nobody polls */
    bool started;              /* the collector finished starting */
    int start_error;
    bool closing;              /* no new work */
    bool terminating;          /* kill everything, cancel everything */
    bool quit;                 /* the collector must leave */
    struct pp_stats stats;
    pid_t *pids;               /* per slot, 0 when none */

    struct slot *slots;        /* nworkers of them: see struct slot */

    /* The collector's own. */
    struct pollfd *pfd;
    int ctl;          /* control socket to the server, or -1 */
    pid_t server;     /* its pid, or 0 */
    bool terminated;  /* terminate's kills and cancels are done */
    unsigned pins;    /* waiters reading a worker themselves (lock) */
    int64_t server_retry_at;
};

/* Asks the server to kill s's worker.  Caller holds pool->lock. */
static inline void pp_slot_kill(struct slot *s)
{
    if (s->state == SLOT_RUNNING && !s->kill_sent)
        s->kill_wanted = true;
}

static inline struct pp_outcome pp_outcome_make(enum pp_end end, int error,
                                                pid_t pid)
{
    struct pp_outcome o;

    memset(&o, 0, sizeof(o));
    o.end = end;
    o.error = error;
    o.pid = pid;
    return o;
}

/* pp_handle.c: drops one reference to h, freeing it with the last. */
void pp_handle_unref(struct pp_handle *h);

/*
 * procpool.c: wakes the collector.  pp_wake_needed says whether a wake-up
 * byte must be written (caller holds pool->lock); pp_wake writes it, after
 * the lock is dropped.
 */
bool pp_wake_needed(struct pp_pool *pool);
void pp_wake(struct pp_pool *pool);

/* pp_collector.c: each is described where it is defined. */
void *pp_collector_main(void *arg);
void pp_dispatch(struct pp_pool *pool);
bool pp_flush_all(struct pp_pool *pool);
size_t pp_star_size(const struct pp_arg *t, size_t argc);
void pp_item_end(struct pp_pool *pool, struct call *c, size_t index,
                 struct pp_outcome o, const void *data, size_t len,
                 struct pp_handle **done);
void pp_items_cancel(struct pp_pool *pool, struct call *c, size_t first,
                     size_t count, int error, struct pp_handle **done);
void pp_publish(struct pp_pool *pool, struct pp_handle *list);
void pp_slot_take(struct pp_pool *pool, struct slot *s,
                  struct pp_handle **done);
bool pp_slot_read(struct slot *s, bool all);

/*
 * Takes the answers s's worker has written into its ring but not sent,
 * claiming them (struct pp_status.claimed) so that the worker will not
 * send them, if nothing it sent is still unread.  True if it took some.
 * Caller holds pool->lock, and is the collector or holds the lease
 * (s->direct).
 */
bool pp_ring_claim(struct pp_pool *pool, struct slot *s);

/*
 * Ends s's lease (s->direct): the worker tells the parent of its answers
 * again, and the collector takes them, the one it left in its ring for
 * the reader included.  Caller holds pool->lock.
 */
void pp_lease_end(struct pp_pool *pool, struct slot *s);

/* pp_trace.c: the recording's set-up, its clean-up, and the event of a
 * frame whose worker died in it (caller holds pool->lock). */
int pp_trace_create(struct pp_pool *pool, size_t events);
void pp_trace_destroy(struct pp_pool *pool);
void pp_trace_call(struct pp_pool *pool, struct call *c, bool map);
void pp_trace_died(struct pp_pool *pool, struct slot *s,
                   const struct piece *p, const struct pp_outcome *o);

/* pp_slots.c: the same. */
int pp_slots_start(struct pp_pool *pool);
void pp_slots_stop(struct pp_pool *pool);
void pp_server_replies(struct pp_pool *pool);
bool pp_server_requests(struct pp_pool *pool);
int pp_time_check(struct pp_pool *pool);

#endif /* POOLS_PP_INTERNAL_H */

/*
 * future.h - the futures' insides, shared by future.c and threadpool.c
 * (internal: not installed; threadpool.h is the manual for tp_future).
 *
 * A future is the meeting point of one task's submitter and the worker that
 * runs it.  future.c owns everything about it: its states (PENDING ->
 * CLAIMED -> DONE), its two references, the store that recycles its memory,
 * the waits (tp_future_wait/get, tp_wait_any/all) and the done-callback.
 * threadpool.c only creates futures (future_take or future_alloc, then
 * future_start), claims them (future_claim) and ends them (future_finish,
 * future_unref).
 */
#ifndef POOLS_FUTURE_H
#define POOLS_FUTURE_H

#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Futures start on a cache line of their own (64 bytes on x86-64 and most
 * ARM cores) and fill whole lines: a worker finishing one future then never
 * writes to the line where the submitter is setting up the next one.
 */
#define CACHE_LINE 64

/* Future states.  CLAIMED: a worker runs it, or a canceller is ending it. */
enum { F_PENDING, F_CLAIMED, F_DONE };

struct any_link;

/*
 * The future store.  A freed future's memory goes back here for reuse, so a
 * pool that keeps submitting stops calling malloc and stops touching fresh
 * pages (each first touch of a page is a page fault: with 192-byte futures,
 * one per 21 tasks).  The store is its own object because futures outlive
 * their pool: the pool closes it when it is destroyed, and the last future
 * destroyed frees it.
 *
 * Giving a future back and taking one out take no lock, and the store never
 * holds more futures than were ever out at once (we call malloc only when
 * it is empty).  Whoever drops a future's last reference pushes it onto
 * `returned`, a lock-free stack (compare-and-swap on its head).  The pool
 * takes futures out under its own lock, the one submit holds anyway: from
 * its private list pool->spare, and when that is empty it takes the whole
 * `returned` stack at once with one atomic exchange.  Taking everything at
 * once is what keeps the stack simple: a stack that several threads pop
 * one by one suffers from the "ABA problem" (a head that was popped and
 * pushed back looks unchanged to a compare-and-swap), one that is only
 * ever emptied whole does not.  Closing swaps in STORE_CLOSED, after which
 * a future given back is freed at once.
 */
struct fstore {
    _Atomic(struct tp_future *) returned;  /* given back; or STORE_CLOSED */
    _Atomic size_t live;        /* futures allocated, + 1 while the pool is */
    long spin_ns;               /* constant: the pool's, for waiters */
    bool recycle;               /* constant: false: free each future at
                                 * once (tp_tuning.no_recycle) */
    /* The pool's count of cancelled tasks.  It lives here, with the
     * futures, because tp_future_cancel counts through the future: the
     * pool may be destroyed while a canceller is still counting, the
     * store not (the canceller holds a future). */
    _Atomic uint64_t cancelled;
};

/* The head of a closed store's stack: a pointer no future can have. */
#define STORE_CLOSED(st) ((struct tp_future *)(void *)(st))


/*
 * A future.  Everything a submit, a worker and a quick tp_future_get touch
 * sits in its first cache line (checked below); the
 * mutex and the condition variable, some 90 bytes, come after it and are
 * touched only when a thread must sleep on the future or set a callback.
 * So a task costs one cache line of future, not three.
 */
struct tp_future {
    _Atomic int state;          /* F_PENDING -> F_CLAIMED -> F_DONE */
    _Atomic int refs;           /* caller + pool; the last one releases */
    _Atomic int watchers;       /* sleepers and callback: finish must lock */
    int status;                 /* written before state becomes F_DONE */
    void *result;               /* likewise */
    struct fstore *store;       /* where its memory goes when freed */
    tp_done_fn *cb;             /* lock: still to run */
    void *cb_arg;               /* lock */
    union {
        struct any_link *links; /* lock: tp_wait_any callers, while out */
        struct tp_future *next_free; /* in a free list: see struct fstore */
    };
    bool has_cb;                /* lock: a callback was ever set */
    /* Cold: only for sleeping and callbacks. */
    pthread_mutex_t lock;
    pthread_cond_t cv;          /* broadcast when done; with lock */
};

/* Keeps the hot fields in one line if someone adds a field. */
_Static_assert(offsetof(struct tp_future, has_cb) < CACHE_LINE,
               "a future's hot fields fit one cache line");

/* A store holding spin_ns, the pool's polling budget for waiters; with
 * recycle false it keeps nothing (every future is malloc'ed and freed). */
int fstore_create(long spin_ns, bool recycle, struct fstore **out);

/* Called by the pool's destroy with its spare list: frees what is kept, and
 * the store itself unless futures are still out (then the last one does). */
void fstore_close(struct fstore *st, struct tp_future *spare);

struct tp_future *future_take(struct fstore *st, struct tp_future **spare);
struct tp_future *future_alloc(struct fstore *st);
void future_start(struct tp_future *f, struct fstore *st);

/* Drops a reference; the last one gives the future back to its store. */
void future_unref(struct tp_future *f);

/* Claims a pending future, for running or cancelling; false if someone
 * else got there first. */
bool future_claim(struct tp_future *f);

/* Ends a claimed future: publishes status and result, wakes whoever waits
 * and runs the callback, in this thread.  Caller holds a reference. */
void future_finish(struct tp_future *f, int status, void *result);

#endif

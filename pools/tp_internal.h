/*
 * tp_internal.h - the thread pool's insides, shared by threadpool.c (the
 * queue, the workers, submit, shutdown), tp_map.c (map) and tp_trace.c
 * (recording); internal: not installed, threadpool.h is the manual.
 *
 * struct tp_pool is defined here rather than in threadpool.c only because
 * map, which lives in a file of its own so that each file holds one idea,
 * queues its helper tasks and takes back the ones no worker has started:
 * it needs the queue's fields and locks.  Nothing outside pools/ sees it.
 */
#ifndef POOLS_TP_INTERNAL_H
#define POOLS_TP_INTERNAL_H

#include "threadpool.h"
#include "future.h"
#include "trace.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worker slot states. */
enum { SLOT_FREE, SLOT_RUNNING, SLOT_EXITED };

struct task {
    tp_task_fn *fn;
    void *arg;
    struct tp_future *f;        /* NULL: nobody wants the result */
    uint64_t id;                /* recording only: the event's id */
    uint64_t queued_ns;         /* recording only: when it was queued */
};

struct slot {
    struct tp_pool *pool;       /* constant */
    pthread_t thread;           /* pool->lock */
    int state;                  /* pool->lock */
    uint64_t busy_ns;           /* pool->take_lock */
    /* Recording only.  os_id: its thread's kernel id, written by the
     * worker (0 when none runs); began_ns: set by its running task
     * through tp_pool_task_began, read by the worker, one thread. */
    _Atomic int32_t os_id;
    uint64_t began_ns;
};

/*
 * Two locks, so that submitting and taking do not wait for each other:
 * lock (the pool's) for queueing, sleeping and everything else, take_lock
 * for taking a task.  Lock order: lock before take_lock.  The atomics
 * written under one lock may be read without it, as hints that are
 * checked again under the lock before anything depends on them.
 *
 * The fields are grouped by who writes them, each group on cache lines of
 * its own: what the submitter writes on every task (lock, tail), what a
 * worker writes on every task (take_lock, head), and the rest, which
 * changes rarely.  Two threads writing to one cache line, even to
 * different fields ("false sharing"), pass the line back and forth between
 * their cores, tens of nanoseconds a trip.
 *
 * No false sharing.  What the submitter writes on every task (its lock,
 * the tail), what a worker writes on every task (take_lock, the head)
 * and what hardly changes sit on separate cache lines (struct tp_pool),
 * so a submit and a take do not steal each other's lines.  Moving a
 * cache line from one core to another costs tens of nanoseconds, a
 * good part of what an empty task costs in all; with lock and
 * take_lock side by side on one line, as a plain layout puts them,
 * every submit and every take paid for such a move.
 *
 * Short critical sections, and locks that do not sleep at once.
 * Every lock is held for a few dozen instructions; a thread that finds
 * one taken retries briefly before sleeping in the kernel (glibc's
 * adaptive mutex).  Without that, threads taking turns at the queue put
 * each other to sleep thousands of times a second.  Running a task
 * costs one trip to one lock (take_lock) and one clock read for the
 * busy time (tasks run back to back share their readings); the busy
 * time is added to the pool's at the worker's next trip to take_lock.
 * The task counters are atomics on take_lock's cache line, which the
 * worker holds anyway: `completed` is counted before the task's end is
 * published, so a thread holding a task's outcome never sees counters
 * that lag behind it.
 */
struct tp_pool {
    /* Written rarely: read by everyone. */
    sem_t work_sem;             /* workers sleep here waiting for tasks:
                                 * one post wakes one (sleep_for_work) */
    pthread_cond_t room_cv;     /* submitters sleep here on a full queue */
    /* The queue: task number k (counting from the pool's start) lives in
     * ring[k % cap]; tasks head..tail-1 are waiting. */
    struct task *ring;          /* both locks to change, either to read */
    size_t cap;                 /* likewise */
    size_t limit;               /* constant: 0 unbounded */
    _Atomic bool stopping;      /* lock to write */
    unsigned nmin, nmax;        /* constant: workers kept (maybe 0), at most */
    _Atomic unsigned alive;     /* lock to write: workers running */
    unsigned peak;              /* lock: most workers ever */
    /* Workers asleep (low 32 bits) and wake-ups posted but not yet taken
     * (high 32 bits), in one word so that a woken worker takes itself off
     * both at once (threadpool.c, sleep_for_work).  Lock to raise. */
    _Atomic uint64_t sleepers;
    _Atomic unsigned blocked;   /* lock to write: submitters asleep */
    struct slot *slots;         /* lock; busy_ns: take_lock */
    long spin_ns;               /* constant */
    struct tp_tuning tuning;    /* constant: the tricks switched off */
    double idle_s;              /* constant */
    struct fstore *store;       /* constant: recycled futures */
    /* Recording (trace.h), NULL when off: every hook tests this field,
     * which never changes, so with recording off a task pays for one
     * branch that the CPU always predicts.  Track 0, the caller's, may
     * have several writers: trace_lock. */
    struct pb_trace *trace;     /* constant */
    pthread_mutex_t trace_lock; /* track 0 of trace, when recording */

    /* Written by the submitter on every task, read by nobody else. */
    _Alignas(CACHE_LINE) pthread_mutex_t lock;
    uint64_t submitted;         /* lock */
    size_t queue_peak;          /* lock */
    size_t head_seen;           /* lock: an old head, see ring_push */
    struct tp_future *spare;    /* lock: taken from the store, not used */

    /* tail: tasks ever queued, written under lock.  The submitter writes
     * it on every task and idle workers poll it: it has a line of its own,
     * so that polling it does not slow down the lock. */
    _Alignas(CACHE_LINE) _Atomic size_t tail;

    /* Written by a worker on every task. */
    _Alignas(CACHE_LINE) pthread_mutex_t take_lock;
    _Atomic size_t head;        /* take_lock to write: tasks ever taken */
    _Atomic unsigned running;   /* workers running a task: see ring_take */
    _Atomic uint64_t completed; /* counted before the task's end is seen */
    _Atomic unsigned spinning;  /* 1 while a worker polls for tasks */
};

/* Tasks waiting.  Exact under both locks, a hint otherwise. */
static inline size_t queue_len(const struct tp_pool *p)
{
    /* Read head first: tail only grows, so the difference is never
     * negative even if a task is queued in between. */
    size_t head = atomic_load((_Atomic size_t *)&p->head);

    return atomic_load((_Atomic size_t *)&p->tail) - head;
}

/*
 * Queues t (its future, if any, already made).  block: wait for room in a
 * bounded queue, else EAGAIN.  Caller holds pool->lock.  threadpool.c.
 */
int tp_enqueue(struct tp_pool *p, struct task *t, bool block);

/*
 * tp_map's helper task (tp_map.c) and the two hooks by which the workers
 * and shutdown tell a map about it: taken out of the queue (caller holds
 * take_lock), and over, run or cancelled (the map's caller may then go).
 */
int tp_map_helper(void *arg, void **result);
void tp_map_helper_taken(void *arg);
void tp_map_helper_done(void *arg);

/* A helper run by worker slot `track` of a recording pool: its chunks are
 * recorded on that track, with the worker's thread id os_id. */
void tp_map_helper_recorded(void *arg, unsigned track, int32_t os_id);

/*
 * Recording, for a pool whose trace is not NULL (tp_trace.c): on
 * `track`, the queue changed by delta at t_ns (work taken: delta < 0),
 * and if e is not NULL, e ran.  Track 0 may be written from any thread
 * (under trace_lock, taken here), track k only by worker k.  What
 * queueing records goes to the queue's side, under pool->lock.
 */
void tp_trace_put(struct tp_pool *p, unsigned track,
                  const struct pb_event *e, uint64_t t_ns, int64_t delta);

/* Sets up the pool's recording (tuning.record_events > 0), and frees it
 * (none: nothing).  tp_trace.c. */
int tp_trace_create(struct tp_pool *p);
void tp_trace_destroy(struct tp_pool *p);

#endif

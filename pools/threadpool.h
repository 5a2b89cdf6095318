/*
 * threadpool.h - a thread pool with futures, done-callbacks and map.
 *
 * This is the C form of Python's concurrent.futures.ThreadPoolExecutor, the
 * subject of section 2 of the tutorial this project ports, plus the
 * pool of section 6 that grows its workers on demand:
 *
 *     Python                                  C
 *     ex = ThreadPoolExecutor(max_workers=3)  tp_pool_create(&opt, &pool)
 *     f = ex.submit(task, arg)                tp_submit(pool, task, arg, &f)
 *     f.result()                              tp_future_get(f, &result)
 *     f.result(timeout=1.0)                   tp_future_wait(f, 1.0), then get
 *     f.done()                                tp_future_done(f)
 *     f.cancel()                              tp_future_cancel(f)
 *     f.add_done_callback(cb)                 tp_future_on_done(f, cb, arg)
 *     wait(fs, return_when=FIRST_COMPLETED)   tp_wait_any(fs, n, t, &i)
 *     wait(fs, return_when=ALL_COMPLETED)     tp_wait_all(fs, n, t)
 *     ex.map(fn, items, chunksize=c)          tp_map(pool, fn, ctx, n,
 *                                               &(struct tp_map_options){
 *                                               .in = items, ...,
 *                                               .chunk_size = c }, &bad)
 *     ex.shutdown(cancel_futures=True)        tp_pool_shutdown(pool, CANCEL)
 *     end of the "with" block                 tp_pool_destroy(pool)
 *
 * A task is a function that returns a status and a result pointer.  A
 * non-zero status is what an exception is in Python: it travels through the
 * future to whoever calls tp_future_get.
 *
 * Errors: every call that can fail returns 0 or a positive errno value, and
 * results come back through out-parameters placed last.  If a call that
 * takes a callback fails, the callback never runs.
 *
 * Threads: every function may be called from any thread, including from a
 * task or a callback running on the pool itself, except tp_pool_destroy
 * (never from one of the pool's own workers: it would join itself).
 * Beware, as in Python: a task that waits for another task of its own pool
 * (tp_future_get, tp_wait_all) holds its worker while it waits, so with
 * every worker waiting the pool deadlocks; tp_map is safe (the caller works
 * on chunks itself).  Several pools in one program share nothing.
 *
 * Futures: tp_submit hands you a future that you own and must free exactly
 * once with tp_future_free.  You may free it at any time, even while its
 * task is queued or running: the pool keeps its own reference until the
 * task has finished and its callback has returned, so nothing dangles.  A
 * future stays valid after its pool is destroyed.
 *
 * The same verbs on every result of both pools (procpool.h too): _wait
 * blocks until done or a timeout, _get reads the outcome, _done asks
 * without blocking, _free gives the caller's result up.  Pools are
 * created and destroyed.  Tuning and introspection (the speed tricks,
 * counters, busy times, the CPU count) sit apart, at the end of this file.
 */
#ifndef POOLS_THREADPOOL_H
#define POOLS_THREADPOOL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tp_pool;
struct tp_future;
struct tp_tuning;               /* see "Tuning and introspection" */

/*
 * A task.  It returns 0 on success or a positive error code (the "exception")
 * and may store a result pointer in *result (which starts as NULL).  The
 * pool never looks at the result: what it points to is between the task and
 * the caller.  A task may call any tp_ function on its own pool except
 * tp_pool_destroy.
 */
typedef int tp_task_fn(void *arg, void **result);

/*
 * A done-callback, set with tp_future_on_done.  It receives the future
 * (still valid: read its status with tp_future_get, which does not block
 * now; it may even tp_future_free it, if the caller has handed its
 * ownership to the callback) and the argument given with it.
 */
typedef void tp_done_fn(struct tp_future *f, void *arg);

/*
 * An item function for tp_map: computes item number i from *in and writes
 * its answer to *out (in or out is NULL when its element size is 0).
 * Returns 0, or a positive error code: the item failed, the other items
 * still run (see tp_map).
 */
typedef int tp_map_fn(void *ctx, size_t i, const void *in, void *out);

/* Pool options.  Start from TP_OPTIONS_INIT: every 0 field means "default". */
struct tp_options {
    /*
     * Worker threads kept alive the whole time.  0: as many as the CPUs this
     * process may run on (sched_getaffinity), see tp_cpu_count.
     * TP_NO_WORKERS: none, for a dynamic pool that starts with no thread
     * and goes back to none when idle, as Python's ThreadPoolExecutor
     * starts (it needs max_workers > 0).
     */
    unsigned workers;
    /*
     * For a dynamic pool (tutorial section 6): up to this many workers in
     * all.  A new worker starts when a task is queued and no worker is free
     * to take it, that is when more tasks are queued than workers are
     * free.  A worker is free unless it is running a task: one that is
     * still starting, or polling, or asleep is free (so one task at a time
     * never starts a second worker), and so is one running a done-callback
     * (keep callbacks short: a long one delays the next task without
     * starting a worker).  A worker beyond the first `workers` that has
     * been idle for idle_timeout_s seconds retires.  0 (or <= workers): a
     * fixed pool.
     *
     * It caps the pool's threads, not the work done at once: tp_map's
     * caller works on chunks too, so a map may run on max_workers + 1
     * threads (6 at once with 5 workers), or more with several callers.
     */
    unsigned max_workers;
    /* How long an extra worker may idle before it retires.  0: 1 second. */
    double idle_timeout_s;
    /*
     * Bounded queue: at most this many tasks waiting.  tp_submit then blocks
     * while the queue is full, tp_try_submit returns EAGAIN.  0: unbounded.
     * A cancelled task keeps its place until a worker reaches it and skips
     * it; tp_map's helper tasks take places only while the map runs.
     */
    size_t queue_limit;
    /*
     * The speed tricks and the polling budget, for experiments (see struct
     * tp_tuning at the end of this file; the pool copies it).  NULL: the
     * defaults, every trick on.
     */
    const struct tp_tuning *tuning;
};

#define TP_OPTIONS_INIT                                                  \
    { .workers = 0, .max_workers = 0, .idle_timeout_s = 0.0,            \
      .queue_limit = 0, .tuning = NULL }

/* For tp_options.workers: no worker kept (see there). */
#define TP_NO_WORKERS UINT_MAX

/* For tp_pool_shutdown: what happens to the tasks still in the queue. */
enum tp_shutdown {
    TP_SHUTDOWN_FINISH, /* run them all, then stop (Python's default) */
    TP_SHUTDOWN_CANCEL  /* cancel them: their futures end with ECANCELED */
};

/*
 * For tp_future_wait, tp_wait_any and tp_wait_all: no time limit.  It is
 * the only negative timeout: any other, and NaN, is EINVAL.
 */
#define TP_WAIT_FOREVER (-1.0)

/* tp_map's *failed_index when no item failed. */
#define TP_NO_INDEX SIZE_MAX

/*
 * What tp_map works on, besides fn and ctx: the arrays (Python's items and
 * the list it returns) and the chunk size (Python's chunksize).  Item i is
 * read from in + i * in_size and its answer written to out + i * out_size;
 * a NULL array has element size 0 and fn gets NULL for it.  All 0 (or a
 * NULL options pointer): no arrays, chunks chosen for you.  Call sites read
 *     &(struct tp_map_options){ .in = a, .in_size = sizeof a[0],
 *                               .out = r, .out_size = sizeof r[0] }
 */
struct tp_map_options {
    const void *in;
    size_t in_size;
    void *out;
    size_t out_size;
    /* Items per chunk.  0: about n / (4 * workers), as CPython's
     * multiprocessing chooses (with TP_NO_WORKERS, max_workers counts). */
    size_t chunk_size;
};

#define TP_MAP_OPTIONS_INIT                                              \
    { .in = NULL, .in_size = 0, .out = NULL, .out_size = 0,             \
      .chunk_size = 0 }

/* ---- Lifecycle ------------------------------------------------------- */

/*
 * Creates a pool and starts its workers.  opt may be NULL for the defaults.
 * Returns 0 and the pool in *out, or EINVAL (out NULL, idle_timeout_s
 * negative or not a number, workers TP_NO_WORKERS with max_workers 0),
 * ENOMEM, EAGAIN (the system refused a thread).  On failure nothing is
 * left behind: no thread, no memory.  Free it with tp_pool_destroy.
 */
int tp_pool_create(const struct tp_options *opt, struct tp_pool **out);

/*
 * Stops accepting tasks: every later submit returns ESHUTDOWN, and so does
 * a submit blocked on a full queue.  With TP_SHUTDOWN_FINISH the workers
 * still run every queued task; with TP_SHUTDOWN_CANCEL the queued tasks are
 * cancelled here, in the calling thread (their futures end with ECANCELED
 * and their callbacks run in this thread).  Running tasks always finish.
 * Does not wait for the workers (tp_pool_destroy does), so a task may shut
 * down its own pool.  Returns 0, or ESHUTDOWN if the pool was already shut
 * down (a CANCEL after a FINISH still cancels what is queued).
 */
int tp_pool_shutdown(struct tp_pool *pool, enum tp_shutdown how);

/*
 * Shuts the pool down with TP_SHUTDOWN_FINISH (unless it already is), waits
 * for the queue to drain, joins every worker thread and frees the pool.
 * Futures stay valid and still have to be freed.  NULL does nothing.  Must
 * not be called from one of the pool's own tasks or callbacks.
 */
void tp_pool_destroy(struct tp_pool *pool);

/* ---- Operations ------------------------------------------------------ */

/*
 * Queues fn(arg).  If out is not NULL, *out receives a new future that the
 * caller owns (free it with tp_future_free); with out NULL the task runs
 * without one and its status is lost.  Blocks while a bounded queue is
 * full.  In a pool with no worker at that moment (TP_NO_WORKERS, or all
 * retired) it starts one first.  Returns 0, EINVAL (pool or fn NULL),
 * ESHUTDOWN (the pool is shut down, or was while we waited for room),
 * ENOMEM, or EAGAIN (the pool had no worker and the system refused a
 * thread).  On failure *out is set to NULL and fn will never run.
 */
int tp_submit(struct tp_pool *pool, tp_task_fn *fn, void *arg,
              struct tp_future **out);

/* As tp_submit, but returns EAGAIN instead of blocking on a full queue. */
int tp_try_submit(struct tp_pool *pool, tp_task_fn *fn, void *arg,
                  struct tp_future **out);

/*
 * Runs fn(ctx, i, in_i, out_i) on n items, like Python's executor.map:
 * item i is read from opt->in + i * opt->in_size and its answer written to
 * opt->out + i * opt->out_size, so the results are in input order and
 * written in place (opt NULL: no arrays, fn gets NULL for both, and the
 * default chunk size).  The items are cut into chunks of opt->chunk_size
 * items (see struct tp_map_options).  Chunks go to whoever is free: the
 * calling thread, and up to `workers` helper tasks queued to bring workers
 * in, so fn runs in the caller and in the workers, several items at once.
 * So tp_map never waits for a free worker and may be called from a task.
 * The arrays stay the caller's; *opt is read during the call only.  It
 * returns once every item has run, and then holds no queue place: the
 * helpers that no worker started are taken back (counted as cancelled,
 * see tp_stats) and the ones that started have finished.
 *
 * Every item runs, even after a failure, as in Python's map.  Returns 0
 * when every item returned 0, else the status of the failing item with the
 * lowest index (whichever failed first in time), whose index goes to
 * *failed_index.  *failed_index (if not NULL) is TP_NO_INDEX when no item
 * failed, or when tp_map fails before running anything: EINVAL (pool or
 * fn NULL, or n > 0 with a NULL array of non-zero element size),
 * ESHUTDOWN (pool shut down), or the error of pthread_mutex_init or
 * pthread_cond_init (EAGAIN, ENOMEM).
 */
int tp_map(struct tp_pool *pool, tp_map_fn *fn, void *ctx, size_t n,
           const struct tp_map_options *opt, size_t *failed_index);

/*
 * Blocks until f is done, then returns the task's status (0 or its error)
 * or ECANCELED if it was cancelled, and stores the task's result in *result
 * (if not NULL; NULL when cancelled).  Never times out; once f is done it
 * returns at once, as often as you like.  f must not be NULL (there is no
 * status left to say so).
 */
int tp_future_get(struct tp_future *f, void **result);

/*
 * Waits until f is done or timeout_s seconds have passed (TP_WAIT_FOREVER:
 * no limit; 0: just look).  Returns 0 if f is done (read it with
 * tp_future_get), ETIMEDOUT if not: the task is still queued or running and
 * carries on.  EINVAL if f is NULL, or timeout_s is NaN or negative and
 * not TP_WAIT_FOREVER.
 */
int tp_future_wait(struct tp_future *f, double timeout_s);

/*
 * Cancels f if its task has not started.  Returns 0 if it did: the task
 * will never run, f is done with status ECANCELED, and the done-callback,
 * if any, runs in this thread before tp_future_cancel returns.  Returns
 * EBUSY if the task is running or done (nothing changes), EINVAL if f is
 * NULL.
 */
int tp_future_cancel(struct tp_future *f);

/*
 * Sets f's done-callback: fn(f, arg) runs once, when f is done.  Which
 * thread runs it: the worker that finished the task, right after the task
 * returns and its waiters are woken; or the thread that cancelled it
 * (tp_future_cancel, tp_pool_shutdown with CANCEL); or, if f is already
 * done, the calling thread, before tp_future_on_done returns.  The callback
 * may call any tp_ function, including tp_submit on the same pool and
 * tp_future_free(f), except tp_pool_destroy.  Returns 0, EINVAL (f or fn
 * NULL), or EBUSY if f already has a callback (only one per future).
 */
int tp_future_on_done(struct tp_future *f, tp_done_fn *fn, void *arg);

/*
 * Waits until at least one of the n futures is done (FIRST_COMPLETED), or
 * timeout_s seconds have passed.  Returns 0 and the index of a done future
 * in *index (the lowest index among those found done), ETIMEDOUT, EINVAL
 * (n == 0, a NULL entry, or timeout_s NaN or negative and not
 * TP_WAIT_FOREVER) or ENOMEM.  The futures may come from different pools.
 */
int tp_wait_any(struct tp_future *const *fs, size_t n, double timeout_s,
                size_t *index);

/*
 * Waits until all n futures are done (ALL_COMPLETED) or timeout_s seconds
 * have passed in all.  Returns 0, ETIMEDOUT, or EINVAL (a NULL entry, or
 * timeout_s NaN or negative and not TP_WAIT_FOREVER).  n == 0 returns 0
 * at once (after checking timeout_s).
 */
int tp_wait_all(struct tp_future *const *fs, size_t n, double timeout_s);

/*
 * Gives up the caller's ownership of f.  The task is not cancelled: it
 * still runs (cancel it first if you want that).  Once the pool is done
 * with f too, its memory goes back to the pool for the next tp_submit (the
 * pool keeps at most as many freed futures as were ever out at once, and
 * frees them when it is destroyed) or, if the pool is gone, to free().
 * NULL does nothing.
 */
void tp_future_free(struct tp_future *f);

/* ---- Queries --------------------------------------------------------- */

/* True once f's task has finished or been cancelled.  Never blocks. */
bool tp_future_done(const struct tp_future *f);

/* ---- Tuning and introspection -------------------------------------- */

/*
 * Nothing below is needed to use the pool: it is for experiments, for the
 * benchmarks and for the lessons that look inside.
 */

/*
 * Tuning: the pool's speed tricks, each of which can be switched off to see
 * what it buys (benchmarks/overhead --list: the tp-no-* modes; the suite's
 * "ablation" chart), and the polling budget.  Start from TP_TUNING_INIT
 * (all 0: every trick on) and point tp_options.tuning at it.  Not for
 * production use: switching a trick off only makes the pool slower.
 */
struct tp_tuning {
    /*
     * How long, in nanoseconds, an idle worker (one at a time) and a thread
     * waiting on a future keep polling before they go to sleep in the
     * kernel.  Waking a sleeping thread costs tens of microseconds on a
     * virtual machine, so a short poll makes a quick submit-and-wait much
     * faster.  The poll yields the CPU (sched_yield) after its first
     * microseconds, so it costs little on a busy machine.  0: the default
     * (TP_SPIN_DEFAULT_NS); negative: never poll, always sleep at once
     * (as no_poll).
     */
    long spin_ns;
    /* Workers and waiters sleep at once instead of polling first (as
     * spin_ns < 0): a quick submit-and-wait pays for two wake-ups. */
    bool no_poll;
    /* A plain malloc and free per future instead of recycled ones on cache
     * lines of their own: allocator calls and page faults per submit. */
    bool no_recycle;
    /* submit takes its future in a trip to the pool's lock of its own, then
     * queues the task in a second: one more lock round trip per submit. */
    bool two_trips;
    /* submit wakes a sleeping worker every time, even one that a wake-up
     * is already on its way to or while a worker polls: a semaphore post
     * (a system call) per submit while a worker sleeps. */
    bool wake_always;
    /* tp_map's caller only waits instead of working on chunks too: one
     * thread fewer on the map.  Then a tp_map from a task of the same pool
     * may wait for ever (every worker waiting on helpers queued behind). */
    bool no_caller_in_map;
    /* A worker that takes a task and sees more waiting does not wake
     * sleepers for them: only submit wakes workers, one system call each
     * from the submitting thread, even while a worker polls (64 tasks on
     * 64 sleepers: 64 wake-ups from the submitter, instead of the first
     * woken worker waking one for each task it finds waiting).  A quick
     * submit-and-wait then also wakes a sleeper that the polling worker
     * beats to the task, and the round trip's cost swings from run to run
     * (0.8 to 10 us against 1.4 with the trick on, 2 cores); 64 sleeps
     * on 64 workers ended 0.07 ms sooner without it. */
    bool no_cascade;
    /*
     * Recording (see tp_pool_trace below): how many task and chunk events
     * each worker, and the caller, may keep.  The pool sets the buffers
     * aside when it is created, about 100 bytes an event per track
     * (workers_max + 1 tracks), and a full buffer drops what comes after
     * and counts it.  0: no recording (the default); then the only cost
     * is one test of a field that never changes, per task.
     */
    size_t record_events;
};

/* tp_tuning.spin_ns's default: 50 us, several wake-ups' worth (see there). */
#define TP_SPIN_DEFAULT_NS 50000L

#define TP_TUNING_INIT                                                   \
    { .spin_ns = 0, .no_poll = false, .no_recycle = false,              \
      .two_trips = false, .wake_always = false, .no_caller_in_map = false, \
      .no_cascade = false, .record_events = 0 }

/*
 * Counters for teaching, read with tp_pool_stats.  A task is counted before
 * its end can be seen: once tp_future_get, tp_future_wait, tp_map, a
 * successful tp_future_cancel or a done-callback has learnt how a task
 * ended, the counters include it.  Every accepted task is, at any moment,
 * queued, running, completed or cancelled; a task cancelled while queued
 * is counted as cancelled at once and stays in queue_len until a worker
 * reaches it.
 */
struct tp_stats {
    uint64_t submitted;     /* tasks accepted, tp_map's helpers too */
    uint64_t completed;     /* tasks that ran to the end, whatever status */
    uint64_t cancelled;     /* tasks cancelled before they started, and
                               tp_map's helpers it took back unused */
    size_t queue_len;       /* tasks waiting now */
    size_t queue_peak;      /* most tasks ever waiting at once */
    unsigned workers;       /* worker threads alive now */
    unsigned workers_peak;  /* most worker threads ever alive at once */
    unsigned workers_max;   /* the limit: max_workers, or workers if fixed */
};

/* Copies the pool's counters into *out.  Returns 0, or EINVAL if NULL. */
int tp_pool_stats(struct tp_pool *pool, struct tp_stats *out);

/*
 * Per-worker busy time: the nanoseconds each worker slot has spent running
 * tasks and their done-callbacks (not sleeping, not polling for more than
 * a moment).  To read the clock once per task, a task that a worker takes
 * without giving up its CPU since the previous one ended is counted from
 * that end, so the few dozen nanoseconds of taking it count as busy too.
 * A slot is reused when a dynamic pool starts a worker after one retired,
 * and keeps adding up.  A worker adds its time at its next trip to the
 * pool's lock, so a task that is still running is not counted yet.
 * Copies up to n values into busy_ns and the number of slots (workers_max)
 * into *slots.  Returns 0 or EINVAL.
 */
int tp_pool_busy(struct tp_pool *pool, uint64_t *busy_ns, size_t n,
                 size_t *slots);

/*
 * Recording: what the pool did, task by task, for timelines
 * (docs/trace-format.md; the benchmarks' --trace writes it as a Chrome
 * trace).  Switched on by tp_tuning.record_events when the pool is
 * created.  Each worker writes its own buffer, without a lock and without
 * allocating; a task costs two more clock readings and a copy of the
 * event (benchmarks/overhead measures it: see benchmarks/README.md).
 *
 * Every time is a CLOCK_MONOTONIC reading in nanoseconds, the clock of
 * clock_gettime, the same in every thread and process.
 */

/* One task (tp_submit) or one chunk of a tp_map call, once it has run. */
struct tp_event {
    uint64_t id;        /* tasks in submit order and chunks in chunk order,
                           one count from 0 over the pool's life */
    uint64_t queued_ns; /* a task: its submit; a chunk: its map's start */
    uint64_t start_ns;  /* it started running */
    uint64_t end_ns;    /* it returned */
    uint64_t first;     /* a chunk: its first item's index (a task: 0) */
    uint64_t count;     /* a chunk: its number of items (a task: 0) */
    unsigned map;       /* a chunk: which tp_map call, counting from 0 */
    unsigned track;     /* who ran it: 0 the caller of tp_map (a chunk it
                           took itself), k worker slot k (1..workers_max) */
    int os_id;          /* the kernel's id of that thread (Linux gettid) */
    int status;         /* a task: its status; a chunk: the status of its
                           first item that failed, or 0 */
    bool chunk;         /* a chunk of a map, else a task */
    uint64_t began_ns;  /* 0; or, for a task that called
                           tp_pool_task_began, when its worker started it
                           (start_ns is then that call) */
};

/* The number of tasks and chunks queued and not yet taken, just after it
 * changed at t_ns (a sample; the samples of all threads, sorted). */
struct tp_sample {
    uint64_t t_ns;
    uint64_t queued;
};

/* A copy of a pool's recording, from tp_pool_trace. */
struct tp_trace {
    uint64_t origin_ns;         /* when the pool was created */
    unsigned workers;           /* worker tracks: 1..workers (workers_max) */
    size_t nevents;
    struct tp_event *events;    /* sorted by id; NULL if none */
    size_t nsamples;
    struct tp_sample *samples;  /* sorted by time; NULL if none */
    uint64_t dropped;           /* events lost to full buffers */
    uint64_t dropped_samples;   /* samples lost likewise */
};

/*
 * Copies what the pool has recorded so far into a new struct tp_trace,
 * which the caller owns and frees with tp_trace_free.  What a task or
 * chunk records is in place before its future is done or its tp_map
 * returns, so after those the copy has it.  A task that is still running,
 * or was cancelled before it ran, has no event.  Returns 0, EINVAL (a
 * NULL argument), ENOTSUP (the pool does not record: record_events was 0)
 * or ENOMEM.
 */
int tp_pool_trace(struct tp_pool *pool, struct tp_trace **out);

/* Frees a copy from tp_pool_trace.  NULL does nothing. */
void tp_trace_free(struct tp_trace *trace);

/*
 * For a task that first waits inside itself (for a lock, as Python's
 * threads wait for the GIL) and then works: called from the task, after
 * the wait, it says that the task's own work begins now.  Its event then
 * starts now, and began_ns keeps when the worker started it, so that a
 * timeline can tell waiting from working (benchmarks/primes --gil).
 * Returns 0; ENOTSUP if the pool does not record; ESRCH if not called
 * from a task running on one of pool's workers (tp_map's caller
 * included: its chunks are not tasks); EINVAL if pool is NULL.
 */
int tp_pool_task_began(struct tp_pool *pool);

/* The number of CPUs this process may run on (sched_getaffinity), >= 1. */
unsigned tp_cpu_count(void);

#ifdef __cplusplus
}
#endif

#endif /* POOLS_THREADPOOL_H */

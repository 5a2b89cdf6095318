/*
 * procpool.h - a process pool: map, starmap, async apply with callbacks,
 * shared memory, a shared dictionary, and workers that may crash.
 *
 * This is the C form of Python's multiprocessing.Pool, the subject of
 * section 3 of the tutorial on Python's pools that poolbench ports:
 *
 *     Python                                  C
 *     pool = Pool(4, maxtasksperchild=k)      pp_pool_create(&opt, &pool)
 *     r = pool.map(f, items, chunksize=c)     pp_map(pool, f, items, size, n,
 *                                               &(struct pp_map_options){
 *                                               .chunk_size = c }, &r)
 *     r[i]                                    pp_results_get(r, i, &p, &len)
 *     pool.starmap(f, tuples)                 pp_starmap(pool, f, tuples,
 *                                               argc, n, NULL, &r)
 *     pool.map(np.sum, chunks) (large data)   pp_map_shm(pool, f, &items,
 *                                               NULL, &r)
 *     r = pool.apply_async(f, (x,), callback) pp_apply_async(pool, f, ...)
 *     r.ready()                               pp_handle_done(h)
 *     r.get(timeout=1)                        pp_handle_wait(h, 1.0), then
 *                                             pp_handle_get(h, &p, &len)
 *     Manager().dict()                        pp_dict_create(cap, &d)
 *     pool.close(); pool.join()               pp_pool_close(pool)
 *     pool.terminate()                        pp_pool_terminate(pool)
 *     end of the "with" block (it calls       pp_pool_terminate(pool), then
 *     terminate(): unfinished tasks stop)     pp_pool_destroy(pool)
 *
 * What it does better than Python: when a task kills its worker (a segfault,
 * abort(), _exit()), Pool.map can hang forever and ProcessPoolExecutor
 * refuses all further work (BrokenProcessPool).  Here that one task ends
 * with an error naming the signal or the exit status, a replacement worker
 * is started, and every other task goes on.  A per-task time limit kills and
 * replaces a worker whose task runs too long.
 *
 * Tasks are function pointers.  The workers are forked (never exec'd) from
 * this very program, so every function has the same address in the workers
 * as in the parent and a pointer can simply be sent down a pipe: there is no
 * pickling and no "if __name__ == '__main__'" guard, because nothing
 * re-imports the program.  What a task may rely on: everything the program
 * had in memory when the pool was created (globals, the heap, constant
 * tables), since the workers are copies of it made then.  What it must not
 * rely on: anything the parent writes after pp_pool_create (the copies are
 * separate, so a worker never sees it), the parent's threads (a worker has
 * one thread), and the parent's file descriptors (a worker keeps only
 * stdin, stdout and stderr).  To share data with workers, pass it as bytes
 * or put it in a pp_shm region or a pp_dict created before the pool.
 * Workers inherit the program's signal handlers and the signal mask of
 * the thread that created the pool, as forked children do.
 *
 * Errors: every call that can fail returns 0 or a positive errno value, and
 * results come back through out-parameters placed last.  If a call that
 * takes a callback fails, the callback never runs.  Nothing here prints,
 * exits or reads the environment.
 *
 * The verbs are the thread pool's (threadpool.h): a result, a pp_handle or
 * a map's pp_results, has _get (read it) and _free (give it up); a handle,
 * whose task may still run, has _wait and _done too.  Pools, shared regions
 * and dictionaries are created and destroyed.  Tuning and introspection
 * (polling, counters, worker pids, the CPU count) sit apart, at the end.
 *
 * Threads: every function may be called from any thread of the parent.
 * Each pool runs one thread of its own in the parent, the collector, which
 * sends tasks, reads results, watches the workers and runs callbacks.
 * Several pools in one program share nothing.  A pool belongs to the
 * process that created it: a child made with fork() must not use it.
 *
 * Linux only: it uses prctl(PR_SET_PDEATHSIG) so that workers die with the
 * program, and signalfd and close_range in its fork server.
 */
#ifndef POOLS_PROCPOOL_H
#define POOLS_PROCPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Shared regions and the shared dictionary: a header of their own. */
#include "ppshm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pp_pool;
struct pp_handle;
struct pp_results;
struct pp_out;
struct pp_shm;
struct pp_dict;
struct pp_tuning;               /* see "Tuning and introspection" */

/*
 * Size limits of the byte framing.  Arguments and results travel through a
 * socket as length-prefixed frames; a frame's length field is 32 bits, and
 * the pool refuses anything bigger than these limits:
 *  - an argument (one item of a map, the whole argument of an apply, or all
 *    the arguments of one starmap item together) over PP_ARG_MAX bytes: the
 *    call returns EMSGSIZE before anything runs;
 *  - a result over PP_RESULT_MAX bytes: pp_out_write returns EMSGSIZE in the
 *    worker; if the task returns anyway, that item ends with EMSGSIZE.
 * Nothing is ever truncated.  Bigger data belongs in a pp_shm region.
 * 64 MiB: far inside the 32-bit length field, and big enough for any
 * message that is cheaper to copy than to share.
 */
#define PP_ARG_MAX ((size_t)64 << 20)
#define PP_RESULT_MAX ((size_t)64 << 20)
/* Most arguments per starmap item (Python has no limit; we need one). */
#define PP_STARMAP_ARGS_MAX 16

/* One byte-string argument, for pp_starmap and struct pp_task. */
struct pp_arg {
    const void *data;
    size_t len;
};

/*
 * What a task receives.  It lives in the worker, for the duration of the
 * call only.
 *  - pp_apply_async, pp_map: arg and arg_len are the argument bytes (a
 *    private copy in the worker; NULL and 0 for an empty argument).
 *  - pp_map_shm: arg and item point to the task's item inside the shared
 *    region, arg_len bytes long.  item is writable: a task may write its
 *    answer into the region instead of returning bytes.
 *  - pp_starmap: argv[0..argc-1] are the item's arguments (and arg/arg_len
 *    are NULL and 0).
 * index is the item's index in the map (0 for pp_apply_async).
 */
struct pp_task {
    const void *arg;
    size_t arg_len;
    void *item;
    size_t argc;
    const struct pp_arg *argv;
    size_t index;
};

/*
 * A task function, run in a worker process.  It returns 0 on success or a
 * positive error code of its choice (Python's exception), and writes its
 * result bytes, if any, with pp_out_write(out, ...).  Each task of a map
 * gets its own empty out.  A task must not call any pp_pool, pp_map or
 * pp_handle function (it is in another process: there is no pool there);
 * it may use pp_shm regions and pp_dict tables created before the pool.
 * It may crash: that is reported, see struct pp_outcome.
 */
typedef int pp_task_fn(const struct pp_task *task, struct pp_out *out);

/*
 * A callback for pp_apply_async, run in the parent by the pool's collector
 * thread after the handle is done (its waiters are woken first).  It may
 * read h (pp_handle_get, pp_handle_outcome: they do not block now) and
 * may call pp_apply_async on the same pool, and pp_handle_free(h) if it
 * owns h.  It must not wait for anything the pool does (pp_handle_wait on
 * another handle, pp_map, pp_pool_close, pp_pool_terminate,
 * pp_pool_destroy): the collector would be waiting for itself.  It should
 * be quick: no other result is read while it runs.
 */
typedef void pp_callback_fn(struct pp_handle *h, void *arg);

/* Pool options.  Start from PP_OPTIONS_INIT: every 0 field means default. */
struct pp_options {
    /*
     * Worker processes, at most PP_WORKERS_MAX.  0: the CPUs this process
     * may run on.
     */
    unsigned workers;
    /*
     * Python's maxtasksperchild: a worker retires after running this many
     * tasks (map items count one each) and a fresh one replaces it, which
     * returns whatever memory the old one leaked.  0: never.
     */
    unsigned max_tasks_per_child;
    /*
     * Per-task time limit in milliseconds, counted from the moment the task
     * starts in its worker.  A task still running then has its worker
     * killed (SIGKILL) and replaced, and ends with ETIMEDOUT.  0: no limit.
     */
    unsigned task_timeout_ms;
    /*
     * Frames sent ahead to each worker (a frame is one apply, or one chunk
     * of a map), so that a worker finishing one finds the next already in
     * its socket: many short tasks then cost a fraction of a round trip
     * each.  Fewer are sent when the queue is short: a worker takes another
     * frame only while it has fewer items in flight than the queue holds
     * divided by twice the number of workers (but always one when it has
     * none, and two when the queue holds two per worker: one to run, the
     * next in hand), so that a short map or a few long tasks still spread
     * over all workers.  Use 1 for tasks that vary a lot in length.  0:
     * the default, PP_PREFETCH_DEFAULT.  At most PP_PREFETCH_MAX.
     */
    unsigned prefetch;
    /*
     * For experiments: pp_handle_wait's polling (see struct pp_tuning at
     * the end of this file; the pool copies it).  NULL: the defaults.
     */
    const struct pp_tuning *tuning;
};

#define PP_WORKERS_MAX 1024
/*
 * 256: with 32, a worker running through a map of empty tasks waited for
 * the collector's next batch, and each task cost 0.7-0.8 us against
 * 0.22-0.31 us with 256 (benchmarks/overhead, bulk, on 2 cores).
 */
#define PP_PREFETCH_DEFAULT 256
#define PP_PREFETCH_MAX 4096
#define PP_OPTIONS_INIT                                                  \
    { .workers = 0, .max_tasks_per_child = 0, .task_timeout_ms = 0,     \
      .prefetch = 0, .tuning = NULL }

/*
 * For pp_handle_wait: no time limit.  The only negative timeout accepted:
 * any other (and NaN) is EINVAL, so that a computed timeout that went
 * negative is an error, not an endless wait.
 */
#define PP_WAIT_FOREVER (-1.0)

/* pp_results_failed when no item failed (TP_NO_INDEX's value). */
#define PP_NO_INDEX SIZE_MAX

/*
 * Options shared by pp_map, pp_starmap and pp_map_shm; a NULL pointer
 * means all defaults.  Call sites read
 *     &(struct pp_map_options){ .chunk_size = 64 }
 */
struct pp_map_options {
    /*
     * Items per frame (Python's chunksize).  0: about count / (4 * workers),
     * as CPython does.  Each item is still one task with its own outcome,
     * so a crash costs only the item that crashed.
     */
    size_t chunk_size;
};

#define PP_MAP_OPTIONS_INIT { .chunk_size = 0 }

/*
 * The items of pp_map_shm: count items of item_size bytes each in the
 * shared region shm, item i starting at byte offset + i * item_size.
 */
struct pp_shm_items {
    struct pp_shm *shm;
    size_t offset;
    size_t item_size;
    size_t count;
};

/* How a task (an apply, or one map item) ended. */
enum pp_end {
    PP_END_PENDING,   /* not finished yet */
    PP_END_OK,        /* the task returned 0 */
    PP_END_ERROR,     /* the task returned a non-zero code: see error */
    PP_END_SIGNALED,  /* its worker was killed by a signal: see signal */
    PP_END_EXITED,    /* its worker called exit/_exit: see exit_status */
    PP_END_TIMEDOUT,  /* over task_timeout_ms: worker killed, ETIMEDOUT */
    PP_END_TOOBIG,    /* result not delivered: over PP_RESULT_MAX
                         (EMSGSIZE) or no memory for it (ENOMEM) */
    PP_END_CANCELLED  /* stopped by pp_pool_terminate, queued or running
                         (ECANCELED); or, after its worker crashed, the
                         parent had no memory to queue it again (ENOMEM) */
};

/*
 * The full story of one task, from pp_handle_outcome or
 * pp_results_outcome.  error is the value pp_handle_get returns: 0, the
 * task's own code, EPIPE when the worker died under it (signal or exit),
 * ETIMEDOUT, EMSGSIZE, ECANCELED or ENOMEM.
 */
struct pp_outcome {
    enum pp_end end;
    int error;
    int signal;       /* PP_END_SIGNALED: the signal number, else 0 */
    int exit_status;  /* PP_END_EXITED: the exit status, else 0 */
    pid_t pid;        /* the worker that ran it; 0 if none did */
};

/* ---- Lifecycle ------------------------------------------------------- */

/*
 * Creates a pool: starts its collector thread, which forks the fork server,
 * which forks the workers (see procpool.c for why).  opt may be NULL for the
 * defaults.  Returns 0 and the pool in *out, or EINVAL (out NULL, workers
 * or prefetch over their maximum), ENOMEM,
 * EAGAIN (no more processes or threads), EMFILE/ENFILE (no more file
 * descriptors).  Free it with pp_pool_destroy.
 */
int pp_pool_create(const struct pp_options *opt, struct pp_pool **out);

/*
 * Python's close() then join(): refuses new work from now on (ESHUTDOWN),
 * then waits until every task already submitted has finished and its
 * callback has run.  Returns 0, or EINVAL (pool NULL).  Calling it again
 * just waits again.
 */
int pp_pool_close(struct pp_pool *pool);

/*
 * Python's terminate(): refuses new work, kills every worker at once
 * (SIGKILL), and ends every unfinished task with ECANCELED (callbacks run).
 * Returns 0 when all is over, or EINVAL.
 */
int pp_pool_terminate(struct pp_pool *pool);

/*
 * Closes the pool as pp_pool_close does (unless terminated), then stops the
 * workers and the fork server, reaps every process, joins the collector
 * thread and frees the pool.  Afterwards no process and no file descriptor
 * of the pool is left.  Handles stay valid and must still be destroyed.
 * NULL does nothing.  Never call it from a callback.
 */
void pp_pool_destroy(struct pp_pool *pool);

/* ---- Operations ------------------------------------------------------ */

/*
 * Python's apply_async: queues fn on a copy of the len bytes at arg (arg
 * may be NULL when len is 0).  If cb is not NULL, cb(h, cb_arg) runs in the
 * collector thread when the task has ended, however it ended.  If out is
 * not NULL, *out receives a handle the caller owns (pp_handle_free);
 * with out NULL the pool frees the handle itself after the callback.
 * Returns 0, EINVAL (pool or fn NULL, or arg NULL with len > 0), EMSGSIZE
 * (len > PP_ARG_MAX), ESHUTDOWN (closed or terminated) or ENOMEM; then fn
 * never runs, cb is never called and *out is NULL.
 *
 * Without a callback, the caller itself reads the answer when it waits or
 * looks (pp_handle_wait, _done, _get, _outcome: see pp_handle.c, "The
 * direct path"), or the pool does once the handle is freed or the pool
 * closes; until then pp_pool_stats may not count the task as completed.
 */
int pp_apply_async(struct pp_pool *pool, pp_task_fn *fn, const void *arg,
                   size_t len, pp_callback_fn *cb, void *cb_arg,
                   struct pp_handle **out);

/*
 * Python's map: runs fn on count items of item_size bytes each, read from
 * args (copied to the workers through the sockets), and blocks until all
 * have ended.  Items travel opt->chunk_size to a frame (see struct
 * pp_map_options; opt may be NULL, and is read during the call only); fn
 * runs in the workers.
 *
 * Every item runs, even after another has failed.  Returns 0 when every
 * item succeeded; otherwise the error of the failing item with the lowest
 * index, whatever order the items ran and ended in (pp_results_failed
 * gives that index).  An item fails when its task returns non-zero or
 * does not end normally (its worker crashed or was killed: see struct
 * pp_outcome).  In both cases *results holds all count results in input
 * order; the caller owns it (pp_results_free).  Otherwise returns EINVAL
 * (pool, fn or results NULL, item_size 0, or args NULL with count > 0),
 * EMSGSIZE (item_size > PP_ARG_MAX), ESHUTDOWN or ENOMEM, runs nothing and
 * sets *results to NULL: so *results tells the two kinds of error apart.
 * Must not be called from a callback.
 */
int pp_map(struct pp_pool *pool, pp_task_fn *fn, const void *args,
           size_t item_size, size_t count, const struct pp_map_options *opt,
           struct pp_results **results);

/*
 * Python's starmap: item i is the tuple args[i * argc .. i * argc + argc - 1]
 * (argc at most PP_STARMAP_ARGS_MAX, each entry's data may be NULL when its
 * len is 0); the task sees it as task->argc and task->argv.  The tuple's
 * bytes together must not exceed PP_ARG_MAX.  Otherwise as pp_map.
 */
int pp_starmap(struct pp_pool *pool, pp_task_fn *fn,
               const struct pp_arg *args, size_t argc, size_t count,
               const struct pp_map_options *opt,
               struct pp_results **results);

/*
 * The large-data path: runs fn on the items that *items describes (see
 * struct pp_shm_items).  Only the item's index crosses the socket (in the
 * frame header): task->item points straight into the region, in the
 * worker, and no byte of data is copied.  The region must have been created
 * before the pool (else EINVAL: the workers cannot see it) and the items
 * must lie inside it (else EINVAL; items NULL, its shm NULL or its
 * item_size 0 too).  Otherwise as pp_map.
 */
int pp_map_shm(struct pp_pool *pool, pp_task_fn *fn,
               const struct pp_shm_items *items,
               const struct pp_map_options *opt,
               struct pp_results **results);

/*
 * Appends len bytes to the task's result (in a worker, from a task).
 * Returns 0, EINVAL (out NULL, or data NULL with len > 0), EMSGSIZE (the
 * result would pass PP_RESULT_MAX; nothing is appended) or ENOMEM.
 */
int pp_out_write(struct pp_out *out, const void *data, size_t len);

/*
 * Waits until h's task has ended or timeout_s seconds have passed
 * (PP_WAIT_FOREVER: no limit; 0: just look; +infinity, or more than 10^9
 * seconds: no limit either).  Returns 0 if it has ended (read it with
 * pp_handle_get), ETIMEDOUT if not (the task goes on), or EINVAL (h
 * NULL, or timeout_s NaN or negative but not PP_WAIT_FOREVER), checked
 * before anything else.  Must not be called from a
 * callback on a handle that is not done.  Works after pp_pool_destroy.
 */
int pp_handle_wait(struct pp_handle *h, double timeout_s);

/*
 * The result of h's ended task: returns its error (as struct pp_outcome's
 * error: 0 on success) and, if data and len are not NULL, points *data at
 * the result bytes (NULL when there are none) and stores their number in
 * *len.  The bytes belong to h and live until pp_handle_free.  Returns
 * EBUSY if the task has not ended (never blocks), EINVAL if h is NULL.
 */
int pp_handle_get(const struct pp_handle *h, const void **data, size_t *len);

/* Stores how h's task ended in *out.  Returns 0, EBUSY or EINVAL. */
int pp_handle_outcome(const struct pp_handle *h, struct pp_outcome *out);

/* True once h's task has ended.  Never blocks. */
bool pp_handle_done(const struct pp_handle *h);

/*
 * Gives up the caller's handle.  The task is not stopped: it runs and its
 * callback is called, then the pool frees the handle.  NULL does nothing.
 */
void pp_handle_free(struct pp_handle *h);

/* ---- Map results ----------------------------------------------------- */

/* The number of items. */
size_t pp_results_count(const struct pp_results *r);

/*
 * Item i's result: returns its error (0 on success) and its bytes as
 * pp_handle_get does; they belong to r.  EINVAL if i is out of range.
 */
int pp_results_get(const struct pp_results *r, size_t i, const void **data,
                   size_t *len);

/* How item i ended.  Returns 0 or EINVAL. */
int pp_results_outcome(const struct pp_results *r, size_t i,
                       struct pp_outcome *out);

/*
 * The index of the failing item with the lowest index (the one whose error
 * the map returned), or PP_NO_INDEX when every item succeeded or r is NULL.
 */
size_t pp_results_failed(const struct pp_results *r);

/* Frees r and the result bytes it holds.  NULL does nothing. */
void pp_results_free(struct pp_results *r);

/* ---- Queries --------------------------------------------------------- */

/* The number of worker processes the pool keeps (its "workers" option). */
unsigned pp_pool_workers(const struct pp_pool *pool);

/*
 * Writes a one-line description of o into buf (at most size bytes, always
 * NUL-terminated), such as "worker 4242 killed by signal 11 (SIGSEGV)" or
 * "task returned error 22 (EINVAL)".  Returns buf.
 */
char *pp_outcome_describe(const struct pp_outcome *o, char *buf,
                          size_t size);

/* ---- Tuning and introspection -------------------------------------- */

/*
 * Nothing below is needed to use the pool: it is for experiments, for the
 * benchmarks and for the tests and lessons that look inside.
 */

/*
 * Tuning, for experiments.  Start from PP_TUNING_INIT and point
 * pp_options.tuning at it.  All false is every speed remedy that helps
 * on a 2-core machine on; each no_* switches one off, so that
 * benchmarks/overhead --mode ablation can show what it buys (pp_worker.c,
 * pp_handle.c and pp_collector.c say why each is there).  None of them
 * changes what a task sees or how a crash is told.
 */
struct pp_tuning {
    /*
     * How long, in nanoseconds, pp_handle_wait polls the handle before it
     * sleeps in the kernel, when the direct path (below) does not apply or
     * gave up.  0 (the default) or negative: never.
     */
    long spin_ns;
    /* A worker that runs out of work sleeps on its doorbell at once
     * instead of polling it for 10 us: the next task pays a wake-up. */
    bool no_poll;
    /* pp_handle_wait on an apply without a callback sleeps until the
     * collector has read the answer, instead of polling the worker's
     * answer count and reading the answer itself: two more wake-ups. */
    bool no_direct;
    /* A task that finds its worker idle goes through the worker's
     * socket instead of an inbox in shared memory, and a lone apply's
     * answer too instead of being read from the worker's ring by its
     * waiting caller: four system calls a round trip. */
    bool no_handoff;
    /* A worker sends each answer by itself, one system call (and often a
     * wake-up of the collector) per item, instead of gathering answers in
     * a ring in shared memory, which the collector reads while it is
     * awake and the worker sends, many at once, while it sleeps. */
    bool no_ring;
    /* Workers do not map the shared regions in when they start: the first
     * pass over a region takes a page fault per 4 KiB page in each. */
    bool no_prefault;
    /* A worker sends its answers through its socket every time it tells
     * the parent, and the collector reads them only there, instead of
     * taking them from the worker's ring while it is awake: in io (64
     * workers whose sleeps end together) a send each, and the collector's
     * wake-ups, on the 2 CPUs the waking workers need. */
    bool always_send;
    /*
     * Opt-in, the one remedy not on by default: the parent wakes the first
     * idle worker it sends to and each woken worker wakes two more, instead
     * of the parent waking each one.  On 2 cores it measured slower (64
     * sleeps of 10 ms on 64 workers: +2.2-2.5 ms over the ideal against
     * +1.6-1.9 without): the wake-ups cost the same CPU wherever they run,
     * and there is no idle core to spread them over.  For machines with
     * many cores.
     */
    bool cascade;
    /*
     * Recording (see pp_pool_trace below): how many events each worker
     * slot may keep, in memory shared with the workers and set aside when
     * the pool is created (about 100 bytes an event per slot).  A full
     * buffer drops what comes after and counts it.  0: no recording (the
     * default); then the only cost is one test per frame in each worker.
     */
    size_t record_events;
};

#define PP_TUNING_INIT                                                   \
    { .spin_ns = 0, .no_poll = false, .no_direct = false,               \
      .no_handoff = false, .no_ring = false, .no_prefault = false,      \
      .always_send = false, .cascade = false, .record_events = 0 }

/* Counters for teaching and for the benchmarks, from pp_pool_stats. */
struct pp_stats {
    uint64_t submitted;        /* tasks accepted (map items count one) */
    uint64_t completed;        /* tasks ended, however */
    uint64_t failed;           /* ended with a non-zero task code */
    uint64_t crashed;          /* ended by their worker dying */
    uint64_t timed_out;        /* ended by the time limit */
    uint64_t cancelled;        /* ended by pp_pool_terminate */
    uint64_t workers_started;  /* every fork, the first ones included */
    uint64_t workers_recycled; /* retired after max_tasks_per_child */
    uint64_t messages;         /* frames sent both ways */
    /*
     * Argument and result bytes copied through the sockets, both ways,
     * frame headers not included (messages counts those: a few dozen bytes
     * each).  A pp_map_shm whose tasks return nothing copies 0 bytes.
     */
    uint64_t bytes_copied;
    unsigned workers;          /* worker processes alive now */
};

/* Copies the pool's counters into *out.  Returns 0, or EINVAL if NULL. */
int pp_pool_stats(struct pp_pool *pool, struct pp_stats *out);

/*
 * Copies the pids of the live workers into pids (up to n of them) and
 * their number into *count.  Returns 0 or EINVAL.  For tests and for
 * watching recycling happen.
 */
int pp_pool_pids(struct pp_pool *pool, pid_t *pids, size_t n,
                 size_t *count);

/*
 * Recording: what the pool did, frame by frame, for timelines
 * (docs/trace-format.md; the benchmarks' --trace).  Switched on by
 * pp_tuning.record_events when the pool is created.  Each worker writes
 * one event per frame it runs (a chunk of a map, or an apply) into a
 * buffer of its own in shared memory: no lock, no message, no system
 * call; the parent reads the buffers where they are.  When a worker dies
 * in a frame, the collector records that frame itself, failed, with the
 * pool's error and the signal; the replacement writes on after it, on the
 * same track.  Times are CLOCK_MONOTONIC nanoseconds, one clock for every
 * process.
 */
struct pp_event {
    uint64_t id;        /* frames in the order they started, from 0 */
    uint64_t queued_ns; /* when its call (map or apply) was queued */
    uint64_t start_ns;  /* its first item started */
    uint64_t end_ns;    /* its last item ended, or its worker was found
                           dead */
    uint64_t first;     /* its first item's index in its call */
    uint64_t count;     /* its items */
    unsigned map;       /* 0 an apply; else 1 + the pool's map call */
    unsigned track;     /* worker slot k + 1 (1..workers) */
    int pid;            /* the worker process that ran it */
    int status;         /* 0, or the first failing item's code, or the
                           pool's error for a frame whose worker died */
    int signal;         /* the signal that killed its worker, or 0 */
    bool chunk;         /* part of a map, else an apply */
};

/* A copy of a pool's recording, from pp_pool_trace. */
struct pp_trace {
    uint64_t origin_ns;         /* when the pool was created */
    unsigned workers;           /* tracks 1..workers */
    size_t nevents;
    struct pp_event *events;    /* sorted by id; NULL if none */
    uint64_t dropped;           /* events lost to full buffers */
};

/*
 * Copies what the pool has recorded so far into a new struct pp_trace,
 * which the caller owns and frees with pp_trace_free.  A frame's event is
 * in place before its last answer can reach the parent, so after a map
 * returns or a handle is done the copy has it.  Returns 0, EINVAL (a NULL
 * argument), ENOTSUP (record_events was 0) or ENOMEM.
 */
int pp_pool_trace(struct pp_pool *pool, struct pp_trace **out);

/* Frees a copy from pp_pool_trace.  NULL does nothing. */
void pp_trace_free(struct pp_trace *trace);

/* The number of CPUs this process may run on (sched_getaffinity), >= 1. */
unsigned pp_cpu_count(void);

#ifdef __cplusplus
}
#endif

#endif /* POOLS_PROCPOOL_H */

/*
 * procpool.c - the process pool's API, the parent side that your threads
 * call (see procpool.h for the interface).  What happens after a task is
 * queued is in pp_collector.c (sending and collecting) and pp_slots.c
 * (workers born, dying, over their time limit); pp_worker.c is the child.
 *
 * The processes.  pp_pool_create starts one thread in the parent, the
 * collector.  The collector forks the fork server (pp_forkserver.c), a
 * small single-threaded process, and asks it for N workers, each on a
 * socketpair whose other end the collector keeps:
 *
 *     parent: your threads + collector ----- control socket ----- server
 *                |  one socket per worker                           | fork
 *                +------------------------------- worker 0, 1, ... -+
 *
 * A call's life.  pp_apply_async and the maps describe their items as a
 * `struct call` and append jobs (runs of its items) to the queue under
 * pool->lock.  submit() then hands out what it can itself (one thread hop
 * fewer for a lone apply) and wakes the collector for the rest.  An apply
 * ends when the collector publishes its handle (its waiters wake, its
 * callback runs); a map's caller sleeps on pool->cv until the last of its
 * items has ended, then reads the results in input order.
 *
 * Locks.  pool->lock protects the queue, the counters and how calls end;
 * pool->cv is signalled when the pool has started, when a map's last item
 * ends and when nothing is outstanding.  Each handle has its own mutex and
 * condition variable, so waiting on a handle never touches the pool and
 * works after the pool is gone.
 *
 * Shutdown.  close waits for the outstanding count to reach zero.
 * terminate has the collector kill every worker and end each unfinished
 * item with ECANCELED.  destroy then tells the collector to quit: it closes
 * every worker socket (idle workers see EOF and _exit), closes the control
 * socket (the server waits for its children, then exits), reaps the server
 * and returns; destroy joins it.  Every descriptor here is O_CLOEXEC.
 *
 * What it does not do: it does not exec (so no Windows-style "spawn"), it
 * does not retry a task whose worker crashed (a crash is reported once),
 * and it does not steal back items already sent to a busy worker (use
 * prefetch = 1 when tasks vary a lot in length).
 */
#include "procpool.h"
#include "pp_internal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Most items in one frame (the header's count is 32 bits). */
#define FRAME_ITEMS_MAX ((size_t)1 << 30)

/* ---- Small helpers --------------------------------------------------- */

/* Wakes the collector.  Caller holds pool->lock; write after unlocking. */
bool pp_wake_needed(struct pp_pool *pool)
{
    if (pool->wake_pending)
        return false;
    pool->wake_pending = true;
    return true;
}

void pp_wake(struct pp_pool *pool)
{
    ssize_t n;

    do
        n = write(pool->wake_wr, "", 1);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the socket is full of wake-ups already; nothing to add. */
}
/* ---- Lifecycle ------------------------------------------------------- */

static void pool_free(struct pp_pool *pool)
{
    unsigned i;

    if (pool->slots != NULL)
        for (i = 0; i < pool->nworkers; i++) {
            free(pool->slots[i].ring);
            free(pool->slots[i].in);
            free(pool->slots[i].out);
        }
    free(pool->slots);
    free(pool->pfd);
    free(pool->pids);
    if (pool->wcfg.status != NULL)
        pp_shared_free(pool->wcfg.status, pool->status_size);
    if (pool->wcfg.rings != NULL)
        pp_shared_free(pool->wcfg.rings, pool->rings_size);
    if (pool->wcfg.collector_asleep != NULL)
        pp_shared_free(pool->wcfg.collector_asleep,
                       sizeof(*pool->wcfg.collector_asleep));
    pp_trace_destroy(pool);
    if (pool->wake_rd >= 0)
        close(pool->wake_rd);
    if (pool->wake_wr >= 0)
        close(pool->wake_wr);
    free(pool);
}

int pp_pool_create(const struct pp_options *opt, struct pp_pool **out)
{
    struct pp_options o = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    sigset_t all, old;
    unsigned i;
    int rc, sv[2], locks = 0;

    if (out == NULL)
        return EINVAL;
    *out = NULL;
    if (opt != NULL)
        o = *opt;
    if (o.workers > PP_WORKERS_MAX || o.prefetch > PP_PREFETCH_MAX)
        return EINVAL;
    if ((pool = calloc(1, sizeof(*pool))) == NULL)
        return ENOMEM;
    pool->wake_rd = pool->wake_wr = pool->ctl = -1;
    pool->nworkers = o.workers != 0 ? o.workers : pp_cpu_count();
    pool->max_tasks = o.max_tasks_per_child;
    pool->timeout_ms = o.task_timeout_ms;
    pool->prefetch = o.prefetch != 0 ? o.prefetch : PP_PREFETCH_DEFAULT;
    if (o.tuning != NULL) {
        pool->spin_ns = o.tuning->spin_ns;
        pool->no_direct = o.tuning->no_direct;
        pool->no_handoff = o.tuning->no_handoff;
        pool->cascade = o.tuning->cascade;
        pool->wcfg.no_poll = o.tuning->no_poll;
        pool->wcfg.no_ring = o.tuning->no_ring;
        pool->wcfg.no_prefault = o.tuning->no_prefault;
        pool->wcfg.always_send = o.tuning->always_send;
    }
    rc = ENOMEM;
    if ((pool->slots = calloc(pool->nworkers, sizeof(*pool->slots))) ==
            NULL ||
        (pool->pfd = calloc(pool->nworkers + 2, sizeof(*pool->pfd))) ==
            NULL ||
        (pool->pids = calloc(pool->nworkers, sizeof(*pool->pids))) == NULL)
        goto fail;
    for (i = 0; i < pool->nworkers; i++) {
        pool->slots[i].fd = -1;
        pool->slots[i].ring = calloc(pool->prefetch, sizeof(struct piece));
        if (pool->slots[i].ring == NULL)
            goto fail;
    }
    pool->status_size = pool->nworkers * sizeof(struct pp_status);
    if ((rc = pp_shared_alloc(pool->status_size,
                              (void **)&pool->wcfg.status)) != 0)
        goto fail;
    pool->rings_size = pool->nworkers * PP_RING_SIZE;
    if ((rc = pp_shared_alloc(pool->rings_size,
                              (void **)&pool->wcfg.rings)) != 0)
        goto fail;
    if ((rc = pp_shared_alloc(sizeof(*pool->wcfg.collector_asleep),
                              (void **)&pool->wcfg.collector_asleep)) != 0)
        goto fail;
    /* Before the fork server starts, so that every worker inherits it. */
    if (o.tuning != NULL && o.tuning->record_events > 0 &&
        (rc = pp_trace_create(pool, o.tuning->record_events)) != 0)
        goto fail;
    pool->wcfg.nslots = pool->nworkers;
    pool->wcfg.max_tasks = pool->max_tasks;
    pool->wcfg.timed = pool->timeout_ms != 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        rc = errno;
        goto fail;
    }
    pool->wake_rd = sv[0];
    pool->wake_wr = sv[1];
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0) {
        rc = errno;
        goto fail;
    }
    if ((rc = pthread_mutex_init(&pool->lock, NULL)) != 0)
        goto fail;
    if ((rc = pthread_cond_init(&pool->cv, NULL)) != 0) {
        pthread_mutex_destroy(&pool->lock);
        goto fail;
    }
    locks = 1;
    pool->created_ns = pp_now_ns();

    /*
     * The collector runs with every signal blocked, so the program's
     * signals go to its own threads, and the fork server (forked by the
     * collector) starts with SIGCHLD blocked, as its signalfd needs.  The
     * workers get back the mask of the thread creating the pool.
     */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pool->wcfg.mask = old;
    rc = pthread_create(&pool->collector, NULL, pp_collector_main, pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        goto fail;

    pthread_mutex_lock(&pool->lock);
    while (!pool->started)
        pthread_cond_wait(&pool->cv, &pool->lock);
    rc = pool->start_error;
    if (rc != 0) {
        pool->quit = true;
        pthread_cond_broadcast(&pool->cv);
    }
    pthread_mutex_unlock(&pool->lock);
    if (rc != 0) {
        pp_wake(pool);
        pthread_join(pool->collector, NULL);
        goto fail;
    }
    /* Not ready until every worker has mapped the shared regions in. */
    for (i = 0; !pool->wcfg.no_prefault && i < pool->nworkers; i++)
        pp_ready_wait(&pool->wcfg.status[i]);
    *out = pool;
    return 0;
fail:
    if (locks) {
        pthread_cond_destroy(&pool->cv);
        pthread_mutex_destroy(&pool->lock);
    }
    pool_free(pool);
    return rc;
}

/* Waits until nothing is outstanding.  Caller holds pool->lock. */
static void drain_wait(struct pp_pool *pool)
{
    while (pool->outstanding > 0 || pool->pins > 0)
        pthread_cond_wait(&pool->cv, &pool->lock);
}

int pp_pool_close(struct pp_pool *pool)
{
    bool w;

    if (pool == NULL)
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    /* Leases end: the collector reads every busy worker from now on. */
    w = pp_wake_needed(pool);
    pthread_mutex_unlock(&pool->lock);
    if (w)
        pp_wake(pool);
    pthread_mutex_lock(&pool->lock);
    drain_wait(pool);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

int pp_pool_terminate(struct pp_pool *pool)
{
    bool w;

    if (pool == NULL)
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    pool->terminating = true;
    w = pp_wake_needed(pool);
    pthread_mutex_unlock(&pool->lock);
    if (w)
        pp_wake(pool);
    pthread_mutex_lock(&pool->lock);
    drain_wait(pool);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void pp_pool_destroy(struct pp_pool *pool)
{
    bool w;

    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    w = pp_wake_needed(pool);
    pthread_mutex_unlock(&pool->lock);
    if (w)
        pp_wake(pool);
    pthread_mutex_lock(&pool->lock);
    drain_wait(pool);
    pool->quit = true;
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->lock);
    pp_wake(pool);
    pthread_join(pool->collector, NULL);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->lock);
    pool_free(pool);
}

/* ---- Submitting ------------------------------------------------------ */

/*
 * Queues jobs (a list linked through next) holding n items.  Returns 0 or
 * ESHUTDOWN.
 */
static int submit(struct pp_pool *pool, struct job *first, struct job *last,
                  size_t n)
{
    bool w;

    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        return ESHUTDOWN;
    }
    if (pool->qtail != NULL)
        pool->qtail->next = first;
    else
        pool->qhead = first;
    pool->qtail = last;
    pool->queued += n;
    pool->outstanding += n;
    pool->stats.submitted += n;
    /*
     * Send it ourselves if a worker has room: one thread hop fewer than
     * going through the collector, which matters for a lone apply.  The
     * collector still has to hear of it if a socket is full (it polls for
     * POLLOUT) or if there is a time limit to watch.
     */
    pp_dispatch(pool);
    w = pp_flush_all(pool) || pool->timeout_ms != 0 ||
        pool->qhead != NULL || pool->need_watch;
    if (w)
        w = pp_wake_needed(pool);
    pthread_mutex_unlock(&pool->lock);
    if (w)
        pp_wake(pool);
    return 0;
}

int pp_apply_async(struct pp_pool *pool, pp_task_fn *fn, const void *arg,
                   size_t len, pp_callback_fn *cb, void *cb_arg,
                   struct pp_handle **out)
{
    pthread_condattr_t ca;
    struct pp_handle *h;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (pool == NULL || fn == NULL || (arg == NULL && len > 0))
        return EINVAL;
    if (len > PP_ARG_MAX)
        return EMSGSIZE;
    if ((h = calloc(1, sizeof(*h))) == NULL)
        return ENOMEM;
    if (len > 0 && (h->arg = malloc(len)) == NULL) {
        free(h);
        return ENOMEM;
    }
    if (len > 0)
        memcpy(h->arg, arg, len);
    if ((rc = pthread_mutex_init(&h->mu, NULL)) != 0)
        goto fail_mutex;
    if ((rc = pthread_condattr_init(&ca)) != 0)
        goto fail_cond;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto fail_cond;
    h->call.fn = fn;
    h->call.kind = PP_KIND_BYTES;
    h->call.bytes = h->arg;
    h->call.item_size = len;
    h->call.remaining = 1;
    h->call.h = h;
    h->job.call = &h->call;
    h->job.count = 1;
    pp_trace_call(pool, &h->call, false);
    h->cb = cb;
    h->cb_arg = cb_arg;
    h->spin_ns = pool->spin_ns;
    h->direct = !pool->no_direct && cb == NULL;
    h->pool = pool;
    atomic_init(&h->slot, -1);
    h->outcome.end = PP_END_PENDING;
    atomic_init(&h->refs, out != NULL ? 2 : 1);
    atomic_init(&h->done, false);
    if ((rc = submit(pool, &h->job, &h->job, 1)) != 0) {
        pthread_cond_destroy(&h->cv);
        goto fail_cond;
    }
    if (out != NULL)
        *out = h;
    return 0;
fail_cond:
    pthread_mutex_destroy(&h->mu);
fail_mutex:
    free(h->arg);
    free(h);
    return rc;
}

static struct pp_results *results_new(size_t count)
{
    struct pp_results *r = calloc(1, sizeof(*r));
    size_t i;

    if (r == NULL)
        return NULL;
    r->count = count;
    if (count > 0 && (r->items = calloc(count, sizeof(*r->items))) == NULL) {
        free(r);
        return NULL;
    }
    for (i = 0; i < count; i++)
        r->items[i].o.end = PP_END_PENDING;
    return r;
}

/* The chunk size to use: CPython's rule when 0. */
static size_t chunk_for(const struct pp_pool *pool, size_t count,
                        size_t chunk)
{
    size_t per;

    if (chunk == 0) {
        per = 4 * (size_t)pool->nworkers;
        chunk = count / per + (count % per != 0);
    }
    if (chunk == 0)
        chunk = 1;
    return chunk < FRAME_ITEMS_MAX ? chunk : FRAME_ITEMS_MAX;
}

/*
 * Cuts the items of c into jobs of at most `chunk` items and at most
 * PP_PAYLOAD_MAX payload bytes each (so one frame never passes the limit).
 * With jobs NULL, only counts them.  Returns the number of jobs.
 */
static size_t cut_jobs(struct call *c, size_t count, size_t chunk,
                       struct job *jobs)
{
    size_t njobs = 0, i = 0, k, bytes, sz;

    while (i < count) {
        bytes = 0;
        for (k = 0; k < chunk && i + k < count; k++) {
            if (c->kind == PP_KIND_BYTES)
                sz = c->item_size;
            else if (c->kind == PP_KIND_STAR)
                sz = pp_star_size(c->star + (i + k) * c->item_size,
                                  c->item_size);
            else
                sz = 0;
            if (k > 0 && bytes + sz > PP_PAYLOAD_MAX)
                break;
            bytes += sz;
        }
        if (jobs != NULL) {
            jobs[njobs].call = c;
            jobs[njobs].first = i;
            jobs[njobs].count = k;
            if (njobs > 0)
                jobs[njobs - 1].next = &jobs[njobs];
        }
        njobs++;
        i += k;
    }
    return njobs;
}

/*
 * What pp_map, pp_starmap and pp_map_shm share: cuts the items into jobs,
 * queues them, waits until every item has ended, and reports.  Arguments
 * are already checked.
 */
static int run_map(struct pp_pool *pool, struct call *c, size_t count,
                   const struct pp_map_options *opt,
                   struct pp_results **results)
{
    struct pp_results *r;
    struct job *jobs = NULL;
    size_t njobs, chunk, failed;
    int rc;

    if ((r = results_new(count)) == NULL)
        return ENOMEM;
    c->res = r;
    c->remaining = count;
    pp_trace_call(pool, c, true);
    chunk = chunk_for(pool, count, opt != NULL ? opt->chunk_size : 0);
    njobs = cut_jobs(c, count, chunk, NULL);
    if (njobs > 0) {
        if ((jobs = calloc(njobs, sizeof(*jobs))) == NULL) {
            pp_results_free(r);
            return ENOMEM;
        }
        cut_jobs(c, count, chunk, jobs);
        if ((rc = submit(pool, &jobs[0], &jobs[njobs - 1], count)) != 0) {
            free(jobs);
            pp_results_free(r);
            return rc;
        }
    }
    pthread_mutex_lock(&pool->lock);
    while (c->remaining > 0)
        pthread_cond_wait(&pool->cv, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    free(jobs);

    /* Python's map raises the exception of the lowest failing item. */
    *results = r;
    failed = pp_results_failed(r);
    return failed != PP_NO_INDEX ? r->items[failed].o.error : 0;
}

/* Common checks of the map family; sets the error output. */
static int map_check(struct pp_pool *pool, pp_task_fn *fn,
                     struct pp_results **results)
{
    if (results != NULL)
        *results = NULL;
    if (pool == NULL || fn == NULL || results == NULL)
        return EINVAL;
    return 0;
}

int pp_map(struct pp_pool *pool, pp_task_fn *fn, const void *args,
           size_t item_size, size_t count, const struct pp_map_options *opt,
           struct pp_results **results)
{
    struct call c;
    int rc;

    if ((rc = map_check(pool, fn, results)) != 0)
        return rc;
    if (item_size == 0 || (args == NULL && count > 0))
        return EINVAL;
    if (item_size > PP_ARG_MAX)
        return EMSGSIZE;
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.kind = PP_KIND_BYTES;
    c.bytes = args;
    c.item_size = item_size;
    return run_map(pool, &c, count, opt, results);
}

int pp_starmap(struct pp_pool *pool, pp_task_fn *fn,
               const struct pp_arg *args, size_t argc, size_t count,
               const struct pp_map_options *opt,
               struct pp_results **results)
{
    struct call c;
    size_t i, k, bytes;
    int rc;

    if ((rc = map_check(pool, fn, results)) != 0)
        return rc;
    if (argc == 0 || argc > PP_STARMAP_ARGS_MAX ||
        (args == NULL && count > 0))
        return EINVAL;
    for (i = 0; i < count; i++) {
        bytes = 0;
        for (k = 0; k < argc; k++) {
            const struct pp_arg *a = &args[i * argc + k];

            if (a->data == NULL && a->len > 0)
                return EINVAL;
            if (a->len > PP_ARG_MAX - bytes)
                return EMSGSIZE;
            bytes += a->len;
        }
    }
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.kind = PP_KIND_STAR;
    c.star = args;
    c.item_size = argc;
    return run_map(pool, &c, count, opt, results);
}

int pp_map_shm(struct pp_pool *pool, pp_task_fn *fn,
               const struct pp_shm_items *items,
               const struct pp_map_options *opt,
               struct pp_results **results)
{
    struct pp_shm *shm;
    struct call c;
    size_t size, offset, item_size, count;
    int rc;

    if ((rc = map_check(pool, fn, results)) != 0)
        return rc;
    if (items == NULL || items->shm == NULL || items->item_size == 0)
        return EINVAL;
    shm = items->shm;
    offset = items->offset;
    item_size = items->item_size;
    count = items->count;
    /* Made after the pool's fork server: not mapped in the workers. */
    if (pp_shm_created_ns(shm) >= pool->created_ns)
        return EINVAL;
    size = pp_shm_size(shm);
    if (offset > size || count > (size - offset) / item_size)
        return EINVAL;
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.kind = PP_KIND_SHM;
    c.shm_base = (uintptr_t)pp_shm_base(shm) + offset;
    c.item_size = item_size;
    return run_map(pool, &c, count, opt, results);
}

/* ---- Results --------------------------------------------------------- */

size_t pp_results_count(const struct pp_results *r)
{
    return r != NULL ? r->count : 0;
}

int pp_results_get(const struct pp_results *r, size_t i, const void **data,
                   size_t *len)
{
    if (r == NULL || i >= r->count)
        return EINVAL;
    if (data != NULL)
        *data = r->items[i].len > 0 ? r->arena + r->items[i].off : NULL;
    if (len != NULL)
        *len = r->items[i].len;
    return r->items[i].o.error;
}

int pp_results_outcome(const struct pp_results *r, size_t i,
                       struct pp_outcome *out)
{
    if (r == NULL || i >= r->count || out == NULL)
        return EINVAL;
    *out = r->items[i].o;
    return 0;
}

size_t pp_results_failed(const struct pp_results *r)
{
    size_t i;

    for (i = 0; r != NULL && i < r->count; i++)
        if (r->items[i].o.error != 0)
            return i;
    return PP_NO_INDEX;
}

void pp_results_free(struct pp_results *r)
{
    if (r == NULL)
        return;
    free(r->items);
    free(r->arena);
    free(r);
}

/* ---- Queries --------------------------------------------------------- */

int pp_pool_stats(struct pp_pool *pool, struct pp_stats *out)
{
    if (pool == NULL || out == NULL)
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    *out = pool->stats;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

int pp_pool_pids(struct pp_pool *pool, pid_t *pids, size_t n, size_t *count)
{
    size_t k = 0;
    unsigned i;

    if (pool == NULL || count == NULL || (pids == NULL && n > 0))
        return EINVAL;
    pthread_mutex_lock(&pool->lock);
    for (i = 0; i < pool->nworkers; i++) {
        if (pool->pids[i] == 0)
            continue;
        if (k < n)
            pids[k] = pool->pids[i];
        k++;
    }
    pthread_mutex_unlock(&pool->lock);
    *count = k;
    return 0;
}

unsigned pp_pool_workers(const struct pp_pool *pool)
{
    return pool != NULL ? pool->nworkers : 0;
}

/* Signal names for descriptions (strsignal's text varies by libc). */
static const char *signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        { SIGABRT, "SIGABRT" }, { SIGALRM, "SIGALRM" }, { SIGBUS, "SIGBUS" },
        { SIGFPE, "SIGFPE" },   { SIGHUP, "SIGHUP" },   { SIGILL, "SIGILL" },
        { SIGINT, "SIGINT" },   { SIGKILL, "SIGKILL" }, { SIGPIPE, "SIGPIPE" },
        { SIGQUIT, "SIGQUIT" }, { SIGSEGV, "SIGSEGV" }, { SIGTERM, "SIGTERM" },
        { SIGTRAP, "SIGTRAP" }, { SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" },
        { SIGXCPU, "SIGXCPU" }, { SIGSYS, "SIGSYS" },
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig)
            return names[i].name;
    return "unknown signal";
}

char *pp_outcome_describe(const struct pp_outcome *o, char *buf,
                          size_t size)
{
    char err[128];

    if (buf == NULL || size == 0)
        return buf;
    if (o == NULL) {
        snprintf(buf, size, "no outcome");
        return buf;
    }
    if (strerror_r(o->error, err, sizeof(err)) != 0)
        snprintf(err, sizeof(err), "error %d", o->error);
    switch (o->end) {
    case PP_END_PENDING:
        snprintf(buf, size, "not finished");
        break;
    case PP_END_OK:
        snprintf(buf, size, "ok (worker %d)", (int)o->pid);
        break;
    case PP_END_ERROR:
        snprintf(buf, size, "task returned error %d (%s) in worker %d",
                 o->error, err, (int)o->pid);
        break;
    case PP_END_SIGNALED:
        snprintf(buf, size, "worker %d killed by signal %d (%s)",
                 (int)o->pid, o->signal, signal_name(o->signal));
        break;
    case PP_END_EXITED:
        snprintf(buf, size, "worker %d exited with status %d", (int)o->pid,
                 o->exit_status);
        break;
    case PP_END_TIMEDOUT:
        snprintf(buf, size, "over the time limit: worker %d killed",
                 (int)o->pid);
        break;
    case PP_END_TOOBIG:
        snprintf(buf, size, "result not delivered: %s (worker %d)", err,
                 (int)o->pid);
        break;
    case PP_END_CANCELLED:
        if (o->error == ECANCELED)
            snprintf(buf, size, "cancelled by pp_pool_terminate");
        else
            snprintf(buf, size, "not run: %s", err);
        break;
    }
    return buf;
}


/*
 * tp_map.c - tp_map: a function over an array, on the pool's workers and
 * on the calling thread.
 *
 * What it does and how, for a student: see the comment on the map section
 * below.  The short version: the items are cut into chunks, an atomic
 * counter hands the chunks out to whoever is free (the caller and helper
 * tasks queued like any other), results are written in place, and the
 * call returns only once no helper can touch its job, so the job lives on
 * the caller's stack.  threadpool.h is the manual; tp_internal.h has the
 * pool's fields this file needs (the queue, its locks).
 *
 * Recording (trace.h): a recording pool gives the map's chunks their ids
 * when the call starts, one after the other, and whoever takes a chunk
 * records it on its own track: the caller on track 0, a worker's helper on
 * the worker's.  The chunk's status is that of its first failing item.
 */
#include "tp_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Map ------------------------------------------------------------- */

/*
 * map is batching: tp_map cuts the items into chunks (about
 * n / (4 * workers), as CPython's multiprocessing does), so one task
 * carries thousands of items and the per-task cost above is paid once
 * per chunk.  Chunks are handed out by an atomic counter to whoever is
 * free, the calling thread included, and results are written in place.
 * The workers join through helper tasks queued like any other; when
 * the caller finds no chunk left it takes back the helpers no worker
 * has started and waits for the ones that have, so a returned map
 * holds no queue place and its job can live on the caller's stack.
 */

/*
 * One tp_map call.  Chunks are handed out by an atomic counter, so whoever
 * is free takes the next one: the caller and every helper, a task queued
 * to bring a worker in.  Every item runs, the ones after a failure too,
 * as in Python's map; the failure with the lowest index is the answer.
 *
 * The caller does not return while the job is still in use, so the job
 * lives on the caller's stack: when it has taken the last chunk it takes
 * back the helpers still queued (a returned map holds no queue slot; a
 * helper taken back counts as cancelled), then waits for the helpers
 * already taken to finish their chunks.  No helper outlives its map.
 */
struct map_job {
    tp_map_fn *fn;
    void *ctx;
    const char *in;
    char *out;
    size_t in_size, out_size, n, chunk, nchunks;
    _Atomic size_t next;        /* next chunk to hand out */
    _Atomic size_t failed;      /* lowest failing index so far, n if none */
    _Atomic size_t queued;      /* take_lock to write: helpers queued */
    int status;                 /* lock: status of item `failed` */
    size_t helpers;             /* lock: helpers queued or running */
    pthread_mutex_t lock;
    pthread_cond_t cv;          /* signalled when helpers reaches 0 */
    /* Recording: constant, set before any chunk is handed out. */
    struct tp_pool *rec;        /* the pool if it records, else NULL */
    uint64_t first_id;          /* chunk c is event first_id + c */
    uint64_t queued_ns;         /* when the call started */
    uint32_t map;               /* the pool's map calls before this one */
};

static void map_fail(struct map_job *job, size_t i, int status)
{
    pthread_mutex_lock(&job->lock);
    if (i < atomic_load(&job->failed)) {
        atomic_store(&job->failed, i);
        job->status = status;
    }
    pthread_mutex_unlock(&job->lock);
}

/* Records chunk c, run on track from start_ns until now. */
static void chunk_record(const struct map_job *job, size_t c, unsigned track,
                         int32_t os_id, uint64_t start_ns, int status)
{
    struct pb_event e;

    memset(&e, 0, sizeof(e));
    e.id = job->first_id + c;
    e.queued_ns = job->queued_ns;
    e.start_ns = start_ns;
    e.end_ns = pb_now_ns();
    e.first = c * job->chunk;
    e.count = job->n - e.first < job->chunk ? job->n - e.first : job->chunk;
    e.map = job->map;
    e.track = track;
    e.os_id = os_id;
    e.status = status;
    e.chunk = 1;
    tp_trace_put(job->rec, track, &e, start_ns, -1);
}

/*
 * Takes chunks until none is left, running every item of each.  track and
 * os_id say who we are, for a recording pool: 0 for the caller, else the
 * worker slot.
 */
static void map_work(struct map_job *job, unsigned track, int32_t os_id)
{
    size_t c, i, begin, end;
    uint64_t start_ns = 0;
    int status, first_status;

    while ((c = atomic_fetch_add(&job->next, 1)) < job->nchunks) {
        begin = c * job->chunk;
        end = job->n - begin < job->chunk ? job->n : begin + job->chunk;
        if (job->rec != NULL)
            start_ns = pb_now_ns();
        first_status = 0;
        for (i = begin; i < end; i++) {
            status = job->fn(job->ctx, i,
                             job->in ? job->in + i * job->in_size : NULL,
                             job->out ? job->out + i * job->out_size : NULL);
            if (status != 0) {
                if (first_status == 0)
                    first_status = status;
                map_fail(job, i, status);
            }
        }
        if (job->rec != NULL)
            chunk_record(job, c, track, os_id, start_ns, first_status);
    }
}

/* A helper task: works on chunks with the caller. */
int tp_map_helper(void *arg, void **result)
{
    (void)result;
    map_work(arg, 0, 0);
    return 0;
}

void tp_map_helper_recorded(void *arg, unsigned track, int32_t os_id)
{
    map_work(arg, track, os_id);
}

/* A worker took a helper out of the queue.  Caller holds take_lock. */
void tp_map_helper_taken(void *arg)
{
    struct map_job *job = arg;

    atomic_fetch_sub(&job->queued, 1);
}

/* A helper is over (run, or cancelled by a shutdown): the last one lets
 * the caller go.  The job must not be touched after the unlock. */
void tp_map_helper_done(void *arg)
{
    struct map_job *job = arg;

    pthread_mutex_lock(&job->lock);
    if (--job->helpers == 0)
        pthread_cond_signal(&job->cv);
    pthread_mutex_unlock(&job->lock);
}

/*
 * Takes job's helpers that are still queued out of the queue and returns
 * how many.  Caller holds both locks.  A job's helpers were queued one
 * after the other and leave only from the front, and the queue keeps its
 * order when tasks are taken out of its middle (here), so the helpers
 * left are a run of `queued` tasks.  We find it and close the gap by
 * moving the shorter side: the tasks in front of it one way (head moves
 * up) or those behind it the other (tail moves down).  Both ends only
 * ever move under both locks, which we hold.
 */
static size_t map_withdraw(struct tp_pool *p, struct map_job *job)
{
    size_t head = atomic_load(&p->head), tail = atomic_load(&p->tail);
    size_t r = atomic_load(&job->queued), first, k;

    if (r == 0)
        return 0;
    for (first = head; first != tail; first++) {
        const struct task *t = &p->ring[first % p->cap];

        if (t->fn == tp_map_helper && t->arg == job)
            break;
    }
    PB_CHECK(tail - first >= r);
    if (first - head <= tail - (first + r)) {
        for (k = first; k-- != head;)
            p->ring[(k + r) % p->cap] = p->ring[k % p->cap];
        atomic_store(&p->head, head + r);
    } else {
        for (k = first + r; k != tail; k++)
            p->ring[(k - r) % p->cap] = p->ring[k % p->cap];
        atomic_store(&p->tail, tail - r);
    }
    atomic_store(&job->queued, 0);
    return r;
}

int tp_map(struct tp_pool *p, tp_map_fn *fn, void *ctx, size_t n,
           const struct tp_map_options *opt, size_t *failed_index)
{
    static const struct tp_map_options defaults = TP_MAP_OPTIONS_INIT;
    const void *in;
    void *out;
    size_t in_size, out_size, chunk;
    struct map_job job;
    struct task t;
    size_t helpers, h, workers, withdrawn;
    bool caller_works;
    int32_t caller_tid = 0;
    int rc;

    if (failed_index != NULL)
        *failed_index = TP_NO_INDEX;
    if (opt == NULL)
        opt = &defaults;
    in = opt->in;
    in_size = opt->in_size;
    out = opt->out;
    out_size = opt->out_size;
    chunk = opt->chunk_size;
    if (p == NULL || fn == NULL || (n > 0 && in == NULL && in_size > 0) ||
        (n > 0 && out == NULL && out_size > 0))
        return EINVAL;
    if (atomic_load(&p->stopping))
        return ESHUTDOWN;
    if (n == 0)
        return 0;
    /* A pool that keeps no worker is sized by the most it may have. */
    workers = p->nmin > 0 ? p->nmin : p->nmax;
    if (chunk == 0)
        chunk = n / (4 * workers) + (n % (4 * workers) != 0);
    memset(&job, 0, sizeof(job));
    job.fn = fn;
    job.ctx = ctx;
    job.in = in_size > 0 ? in : NULL;
    job.out = out_size > 0 ? out : NULL;
    job.in_size = in_size;
    job.out_size = out_size;
    job.n = n;
    job.chunk = chunk;
    job.nchunks = n / chunk + (n % chunk != 0);
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, n);
    if (p->trace != NULL) {
        job.rec = p;
        job.map = atomic_fetch_add(&p->trace->next_map, 1);
        job.first_id = atomic_fetch_add(&p->trace->next_id, job.nchunks);
        job.queued_ns = pb_now_ns();
        caller_tid = pb_os_tid();
    }
    if ((rc = pthread_mutex_init(&job.lock, NULL)) != 0)
        return rc;
    if ((rc = pthread_cond_init(&job.cv, NULL)) != 0) {
        pthread_mutex_destroy(&job.lock);
        return rc;
    }

    /* One helper per worker at most, and none for the chunk the caller
     * takes; if the queue is full or shut down we just get fewer.  They
     * are counted before the first is queued (a worker may take it at
     * once), and the ones that could not be queued are taken off after. */
    caller_works = !p->tuning.no_caller_in_map;
    h = caller_works ? job.nchunks - 1 : job.nchunks;
    helpers = h < workers ? h : workers;
    job.helpers = helpers;
    atomic_init(&job.queued, helpers);
    t.fn = tp_map_helper;
    t.arg = &job;
    t.f = NULL;
    pthread_mutex_lock(&p->lock);
    /* The chunks join the queue's length when the call started, before
     * any can be taken. */
    if (job.rec != NULL)
        pb_track_sample(pb_trace_queue_side(p->trace), job.queued_ns,
                        (int64_t)job.nchunks);
    for (h = 0; h < helpers; h++)
        if (tp_enqueue(p, &t, false) != 0)
            break;
    if (h < helpers) {
        pthread_mutex_lock(&p->take_lock);
        atomic_fetch_sub(&job.queued, helpers - h);
        pthread_mutex_unlock(&p->take_lock);
        pthread_mutex_lock(&job.lock);
        job.helpers -= helpers - h;
        pthread_mutex_unlock(&job.lock);
    }
    pthread_mutex_unlock(&p->lock);

    /* Without tp_tuning.no_caller_in_map, or when no helper could be
     * queued, the caller works too: the helpers take what it leaves. */
    if (caller_works || h == 0)
        map_work(&job, 0, caller_tid);

    /* Every chunk is taken.  Take back the helpers nobody started (none,
     * most of the time: queued only goes down now, so 0 needs no lock)... */
    withdrawn = 0;
    if ((caller_works || h == 0) && atomic_load(&job.queued) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_mutex_lock(&p->take_lock);
        withdrawn = map_withdraw(p, &job);
        pthread_mutex_unlock(&p->take_lock);
        if (withdrawn > 0) {
            atomic_fetch_add(&p->store->cancelled, withdrawn);
            if (p->blocked > 0)
                pthread_cond_broadcast(&p->room_cv);
        }
        pthread_mutex_unlock(&p->lock);
    }
    /* ...and wait for the others to finish their chunks. */
    pthread_mutex_lock(&job.lock);
    job.helpers -= withdrawn;
    while (job.helpers > 0)
        pthread_cond_wait(&job.cv, &job.lock);
    pthread_mutex_unlock(&job.lock);
    /* A caller that only waited does the chunks of helpers that a
     * shutdown cancelled, so that every item still runs. */
    if (!caller_works)
        map_work(&job, 0, caller_tid);

    rc = job.status;
    if (rc != 0 && failed_index != NULL)
        *failed_index = atomic_load(&job.failed);
    pthread_cond_destroy(&job.cv);
    pthread_mutex_destroy(&job.lock);
    return rc;
}


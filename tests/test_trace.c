/*
 * test_trace.c - recording (issue 16): what the pools record, task by
 * task, and the trace files the benchmarks write from it (Check).
 *
 * Each test runs a pool with recording on, reads the recording back and
 * checks what docs/trace-format.md promises of it: every task and chunk
 * once, with an id of its own, queued <= started <= ended, on a track that
 * exists, one at a time on each worker's track; a full buffer counts what
 * it drops.  No test asserts a time, only the order of times.
 */
#include "threadpool.h"
#include "procpool.h"

#include <check.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "support.h"
#include "trace_file.h"

/* ---- Helpers --------------------------------------------------------- */

/* A recording pool of `workers` fixed workers keeping `events` a track. */
static struct tp_pool *recording_pool(unsigned workers, size_t events)
{
    struct tp_tuning tuning = TP_TUNING_INIT;
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *pool;

    tuning.record_events = events;
    opt.workers = workers;
    opt.tuning = &tuning;
    ck_assert_int_eq(tp_pool_create(&opt, &pool), 0);
    return pool;
}

/* A task that does a little work, so that tasks overlap in time. */
static int spin_task(void *arg, void **result)
{
    volatile unsigned x = 0;
    unsigned i;

    (void)result;
    for (i = 0; i < 1000; i++)
        x += i;
    return (int)(intptr_t)arg;
}

/* Submits n tasks (task i returns fail if i % 7 == 3, else 0) and waits. */
static void run_tasks(struct tp_pool *pool, size_t n, int fail)
{
    struct tp_future **fs = calloc(n, sizeof(*fs));
    size_t i;

    ck_assert_ptr_nonnull(fs);
    for (i = 0; i < n; i++) {
        intptr_t status = i % 7 == 3 ? fail : 0;

        ck_assert_int_eq(tp_submit(pool, spin_task, (void *)status, &fs[i]),
                         0);
    }
    ck_assert_int_eq(tp_wait_all(fs, n, TP_WAIT_FOREVER), 0);
    for (i = 0; i < n; i++)
        tp_future_free(fs[i]);
    free(fs);
}

/*
 * What every recording must satisfy: ids below `ids` and each at most
 * once, queued <= start <= end, tracks in 0..workers, only chunks on the
 * caller's track, and no two events overlapping on a worker's track.
 */
static void check_events(const struct tp_trace *tr, size_t ids)
{
    char *seen = calloc(ids, 1);
    size_t i;

    ck_assert_ptr_nonnull(seen);
    for (i = 0; i < tr->nevents; i++) {
        const struct tp_event *e = &tr->events[i];

        ck_assert_uint_lt(e->id, ids);
        ck_assert_msg(!seen[e->id], "id %ju twice", (uintmax_t)e->id);
        seen[e->id] = 1;
        ck_assert_uint_ge(e->queued_ns, tr->origin_ns);
        ck_assert_uint_le(e->queued_ns, e->start_ns);
        ck_assert_uint_le(e->start_ns, e->end_ns);
        ck_assert_uint_le(e->track, tr->workers);
        ck_assert(e->track > 0 || e->chunk);
        ck_assert_int_ne(e->os_id, 0);
        if (i > 0)
            ck_assert_uint_gt(e->id, tr->events[i - 1].id);
    }
    /* Events come sorted by id, not by time: per track, sort by start by
     * walking the tracks one at a time. */
    for (unsigned k = 0; k <= tr->workers; k++) {
        uint64_t prev_end = 0;
        size_t m = 0, j;
        struct tp_event **mine = calloc(tr->nevents + 1, sizeof(*mine));

        ck_assert_ptr_nonnull(mine);
        for (i = 0; i < tr->nevents; i++)
            if (tr->events[i].track == k)
                mine[m++] = &tr->events[i];
        /* Insertion sort by start: small lists. */
        for (i = 1; i < m; i++)
            for (j = i; j > 0 && mine[j - 1]->start_ns > mine[j]->start_ns;
                 j--) {
                struct tp_event *x = mine[j];

                mine[j] = mine[j - 1];
                mine[j - 1] = x;
            }
        for (i = 0; i < m; i++) {
            ck_assert_msg(mine[i]->start_ns >= prev_end,
                          "track %u: events overlap", k);
            prev_end = mine[i]->end_ns;
        }
        free(mine);
    }
    free(seen);
}

/* ---- Thread pool ------------------------------------------------------- */

START_TEST(recording_is_off_by_default)
{
    struct tp_pool *pool;
    struct tp_trace *tr = (struct tp_trace *)&tr;

    ck_assert_int_eq(tp_pool_create(NULL, &pool), 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), ENOTSUP);
    ck_assert_ptr_null(tr);
    ck_assert_int_eq(tp_pool_trace(NULL, &tr), EINVAL);
    ck_assert_int_eq(tp_pool_trace(pool, NULL), EINVAL);
    tp_trace_free(NULL);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(buffers_too_large_for_memory_fail_the_create)
{
    struct tp_tuning tuning = TP_TUNING_INIT;
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *pool = (struct tp_pool *)&pool;

    tuning.record_events = SIZE_MAX / 8;
    opt.workers = 2;
    opt.tuning = &tuning;
    ck_assert_int_eq(tp_pool_create(&opt, &pool), ENOMEM);
    ck_assert_ptr_null(pool);
}
END_TEST

START_TEST(every_task_appears_once_on_a_worker_track)
{
    enum { N = 500, WORKERS = 3 };
    struct tp_pool *pool = recording_pool(WORKERS, N);
    struct tp_trace *tr;
    size_t i, failed = 0;

    run_tasks(pool, N, EIO);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    ck_assert_uint_eq(tr->workers, WORKERS);
    ck_assert_uint_eq(tr->dropped, 0);
    ck_assert_uint_eq(tr->nevents, N);
    check_events(tr, N);
    for (i = 0; i < N; i++) {
        const struct tp_event *e = &tr->events[i];

        ck_assert_uint_eq(e->id, i);
        ck_assert(!e->chunk);
        ck_assert_uint_ge(e->track, 1);
        ck_assert_int_eq(e->status, i % 7 == 3 ? EIO : 0);
        failed += e->status != 0;
    }
    ck_assert_uint_gt(failed, 0);
    tp_trace_free(tr);
    tp_pool_destroy(pool);
}
END_TEST

/* Map items: item i fails with ERANGE if i is a multiple of 50. */
static int map_item(void *ctx, size_t i, const void *in, void *out)
{
    (void)ctx;
    (void)in;
    *(size_t *)out = i;
    return i % 50 == 0 ? ERANGE : 0;
}

START_TEST(map_chunks_cover_every_item_once)
{
    enum { N = 1000, WORKERS = 2, CHUNK = 7 };
    struct tp_pool *pool = recording_pool(WORKERS, 1000);
    static size_t out[N];
    static unsigned hits[N];
    struct tp_trace *tr;
    size_t i, j, bad, nchunks = (N + CHUNK - 1) / CHUNK;

    memset(hits, 0, sizeof(hits));
    ck_assert_int_eq(tp_map(pool, map_item, NULL, N,
                            &(struct tp_map_options){
                                .out = out, .out_size = sizeof(out[0]),
                                .chunk_size = CHUNK }, &bad), ERANGE);
    ck_assert_uint_eq(bad, 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    ck_assert_uint_eq(tr->nevents, nchunks);
    check_events(tr, nchunks);
    for (i = 0; i < tr->nevents; i++) {
        const struct tp_event *e = &tr->events[i];
        bool fails = false;

        ck_assert(e->chunk);
        ck_assert_uint_eq(e->map, 0);
        ck_assert_uint_eq(e->id, i);
        ck_assert_uint_eq(e->first, i * CHUNK);
        ck_assert_uint_ge(e->count, 1);
        ck_assert_uint_le(e->first + e->count, N);
        for (j = e->first; j < e->first + e->count; j++) {
            hits[j]++;
            fails = fails || j % 50 == 0;
        }
        ck_assert_int_eq(e->status, fails ? ERANGE : 0);
    }
    for (i = 0; i < N; i++)
        ck_assert_uint_eq(hits[i], 1);
    tp_trace_free(tr);
    tp_pool_destroy(pool);
}
END_TEST

static int gate_task(void *arg, void **result)
{
    (void)result;
    gate_pass(arg);
    return 0;
}

/* With the only worker held, the caller runs every chunk itself. */
START_TEST(chunks_the_caller_runs_go_on_track_0)
{
    struct tp_pool *pool = recording_pool(1, 100);
    static size_t out[30];
    struct tp_future *hold;
    struct tp_trace *tr;
    struct gate g;
    size_t i;
    int32_t tid = 0;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(pool, gate_task, &g, &hold), 0);
    gate_await(&g, 1);
    ck_assert_int_eq(tp_map(pool, map_item, NULL, 30,
                            &(struct tp_map_options){
                                .out = out, .out_size = sizeof(out[0]),
                                .chunk_size = 3 }, NULL), ERANGE);
    gate_open(&g);
    ck_assert_int_eq(tp_future_get(hold, NULL), 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    ck_assert_uint_eq(tr->nevents, 1 + 10);
    check_events(tr, 11);
    for (i = 1; i < tr->nevents; i++) {
        ck_assert(tr->events[i].chunk);
        ck_assert_uint_eq(tr->events[i].track, 0);
        if (tid == 0)
            tid = tr->events[i].os_id;
        ck_assert_int_eq(tr->events[i].os_id, tid);
    }
    /* The caller's thread is not the worker's. */
    ck_assert_int_ne(tid, tr->events[0].os_id);
    tp_trace_free(tr);
    tp_future_free(hold);
    tp_pool_destroy(pool);
    gate_release(&g);
}
END_TEST

/* A task that sleeps a moment "waiting for a lock", then says it begins. */
struct began_arg {
    struct tp_pool *pool;
    int rc;
};

static int began_task(void *arg, void **result)
{
    struct began_arg *a = arg;

    (void)result;
    sleep_ms(2);
    a->rc = tp_pool_task_began(a->pool);
    return 0;
}

START_TEST(a_task_may_say_when_its_own_work_began)
{
    struct tp_pool *pool = recording_pool(1, 100);
    struct began_arg a = { pool, -1 };
    struct tp_future *f;
    struct tp_trace *tr;
    const struct tp_event *e;

    ck_assert_int_eq(tp_submit(pool, began_task, &a, &f), 0);
    ck_assert_int_eq(tp_future_get(f, NULL), 0);
    tp_future_free(f);
    ck_assert_int_eq(a.rc, 0);
    run_tasks(pool, 3, 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    ck_assert_uint_eq(tr->nevents, 4);
    check_events(tr, 4);
    e = &tr->events[0];
    ck_assert_uint_ne(e->began_ns, 0);
    ck_assert_uint_le(e->queued_ns, e->began_ns);
    /* The 2 ms of "waiting" lie between the two. */
    ck_assert_uint_ge(e->start_ns - e->began_ns, 2000000);
    ck_assert_uint_eq(tr->events[1].began_ns, 0);
    tp_trace_free(tr);
    /* Not from a worker; not on a pool that does not record. */
    ck_assert_int_eq(tp_pool_task_began(pool), ESRCH);
    ck_assert_int_eq(tp_pool_task_began(NULL), EINVAL);
    tp_pool_destroy(pool);
    ck_assert_int_eq(tp_pool_create(NULL, &pool), 0);
    ck_assert_int_eq(tp_pool_task_began(pool), ENOTSUP);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(tasks_and_chunks_share_one_count_of_ids)
{
    struct tp_pool *pool = recording_pool(2, 100);
    static size_t out[40];
    struct tp_trace *tr;
    size_t i;

    run_tasks(pool, 10, 0);
    ck_assert_int_eq(tp_map(pool, map_item, NULL, 40,
                            &(struct tp_map_options){
                                .out = out, .out_size = sizeof(out[0]),
                                .chunk_size = 4 }, NULL), ERANGE);
    run_tasks(pool, 5, 0);
    ck_assert_int_eq(tp_map(pool, map_item, NULL, 40,
                            &(struct tp_map_options){
                                .out = out, .out_size = sizeof(out[0]),
                                .chunk_size = 40 }, NULL), ERANGE);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    ck_assert_uint_eq(tr->nevents, 10 + 10 + 5 + 1);
    check_events(tr, tr->nevents);
    for (i = 0; i < tr->nevents; i++) {
        const struct tp_event *e = &tr->events[i];

        ck_assert_uint_eq(e->id, i);
        ck_assert(e->chunk == ((i >= 10 && i < 20) || i == 25));
        if (e->chunk)
            ck_assert_uint_eq(e->map, i == 25 ? 1 : 0);
    }
    tp_trace_free(tr);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(a_full_buffer_drops_and_counts)
{
    enum { N = 300, EVENTS = 8 };
    struct tp_pool *pool = recording_pool(2, EVENTS);
    struct tp_trace *tr;

    run_tasks(pool, N, 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    /* Two worker tracks of 8: at most 16 kept, the rest counted. */
    ck_assert_uint_le(tr->nevents, 2 * EVENTS);
    ck_assert_uint_gt(tr->dropped, 0);
    ck_assert_uint_eq(tr->nevents + tr->dropped, N);
    ck_assert_uint_gt(tr->dropped_samples, 0);
    check_events(tr, N);
    tp_trace_free(tr);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(queue_samples_stay_between_zero_and_what_was_queued)
{
    enum { N = 200 };
    struct tp_pool *pool = recording_pool(1, N);
    struct tp_trace *tr;
    size_t i;

    run_tasks(pool, N, 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    /* One sample when each task is queued, one when it is taken. */
    ck_assert_uint_eq(tr->nsamples, 2 * N);
    for (i = 0; i < tr->nsamples; i++) {
        ck_assert_uint_le(tr->samples[i].queued, N);
        ck_assert_uint_ge(tr->samples[i].t_ns, tr->origin_ns);
        if (i > 0)
            ck_assert_uint_ge(tr->samples[i].t_ns, tr->samples[i - 1].t_ns);
    }
    ck_assert_uint_eq(tr->samples[0].queued, 1);
    tp_trace_free(tr);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(a_dynamic_pool_has_a_track_per_possible_worker)
{
    struct tp_tuning tuning = TP_TUNING_INIT;
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *pool;
    struct tp_trace *tr;

    tuning.record_events = 64;
    opt.workers = 1;
    opt.max_workers = 4;
    opt.tuning = &tuning;
    ck_assert_int_eq(tp_pool_create(&opt, &pool), 0);
    run_tasks(pool, 50, 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    ck_assert_uint_eq(tr->workers, 4);
    ck_assert_uint_eq(tr->nevents + tr->dropped, 50);
    check_events(tr, 50);
    tp_trace_free(tr);
    tp_pool_destroy(pool);
}
END_TEST

/* Reads the recording over and over while tasks run (for TSan). */
static void *reader(void *arg)
{
    struct tp_pool *pool = arg;
    int k;

    for (k = 0; k < 50; k++) {
        struct tp_trace *tr;

        ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
        check_events(tr, 2000);
        tp_trace_free(tr);
    }
    return NULL;
}

START_TEST(reading_while_tasks_run_sees_whole_events)
{
    struct tp_pool *pool = recording_pool(2, 2000);
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, reader, pool), 0);
    run_tasks(pool, 2000, 0);
    pthread_join(t, NULL);
    tp_pool_destroy(pool);
}
END_TEST

/*
 * One task holds the only worker while five queue behind it; one of them
 * is cancelled, then either the pool's shutdown cancels the rest or they
 * run.  Only what ran has an event.
 */
static void cancel_some(bool shutdown)
{
    struct tp_pool *pool = recording_pool(1, 100);
    struct tp_future *hold, *fs[5];
    struct tp_trace *tr;
    struct gate g;
    size_t i;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(pool, gate_task, &g, &hold), 0);
    gate_await(&g, 1);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(tp_submit(pool, spin_task, NULL, &fs[i]), 0);
    ck_assert_int_eq(tp_future_cancel(fs[1]), 0);
    if (shutdown)
        ck_assert_int_eq(tp_pool_shutdown(pool, TP_SHUTDOWN_CANCEL), 0);
    gate_open(&g);
    ck_assert_int_eq(tp_future_get(hold, NULL), 0);
    ck_assert_int_eq(tp_wait_all(fs, 5, TP_WAIT_FOREVER), 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    /* Ids: 0 the gate task, 1..5 the others; id 2 (fs[1]) never ran. */
    ck_assert_uint_eq(tr->nevents, shutdown ? 1 : 5);
    check_events(tr, 6);
    for (i = 0; i < tr->nevents; i++)
        ck_assert_uint_ne(tr->events[i].id, 2);
    /* Whatever was cancelled left the queue: it ends empty. */
    ck_assert_uint_eq(tr->samples[tr->nsamples - 1].queued, 0);
    tp_trace_free(tr);
    for (i = 0; i < 5; i++)
        tp_future_free(fs[i]);
    tp_future_free(hold);
    tp_pool_destroy(pool);
    gate_release(&g);
}

START_TEST(cancelled_tasks_leave_no_event)
{
    cancel_some(false);
    cancel_some(true);
}
END_TEST

/* ---- Process pool ------------------------------------------------------ */

/* A recording process pool of `workers` workers. */
static struct pp_pool *recording_procs(unsigned workers, size_t events)
{
    struct pp_tuning tuning = PP_TUNING_INIT;
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_pool *pool;

    tuning.record_events = events;
    opt.workers = workers;
    opt.tuning = &tuning;
    ck_assert_int_eq(pp_pool_create(&opt, &pool), 0);
    return pool;
}

/* Item i: fails with EDOM when i % 10 == 9; item `kill_at` (the argument
 * holds it in every item) kills its own worker. */
static int pp_item(const struct pp_task *t, struct pp_out *out)
{
    int kill_at;

    (void)out;
    memcpy(&kill_at, t->arg, sizeof(kill_at));
    if ((int)t->index == kill_at)
        kill(getpid(), SIGKILL);
    return t->index % 10 == 9 ? EDOM : 0;
}

/* Checks what every process-pool recording must satisfy; returns the
 * number of items its events cover. */
static size_t check_pp_events(const struct pp_trace *tr)
{
    size_t i, items = 0;

    for (i = 0; i < tr->nevents; i++) {
        const struct pp_event *e = &tr->events[i];

        if (i > 0)
            ck_assert_uint_gt(e->id, tr->events[i - 1].id);
        ck_assert_uint_ge(e->queued_ns, tr->origin_ns);
        ck_assert_uint_le(e->queued_ns, e->start_ns);
        ck_assert_uint_le(e->start_ns, e->end_ns);
        ck_assert_uint_ge(e->track, 1);
        ck_assert_uint_le(e->track, tr->workers);
        ck_assert_int_gt(e->pid, 0);
        ck_assert_uint_ge(e->count, 1);
        items += e->count;
    }
    return items;
}

START_TEST(procs_record_every_frame_in_the_workers)
{
    enum { N = 100 };
    struct pp_pool *pool = recording_procs(2, 1000);
    struct pp_results *res;
    struct pp_trace *tr;
    int args[N];
    size_t i, fails = 0;

    for (i = 0; i < N; i++)
        args[i] = -1;
    ck_assert_int_eq(pp_map(pool, pp_item, args, sizeof(args[0]), N,
                            &(struct pp_map_options){ .chunk_size = 5 },
                            &res), EDOM);
    pp_results_free(res);
    ck_assert_int_eq(pp_pool_trace(pool, &tr), 0);
    ck_assert_uint_eq(tr->workers, 2);
    ck_assert_uint_eq(tr->dropped, 0);
    ck_assert_uint_eq(tr->nevents, N / 5);
    ck_assert_uint_eq(check_pp_events(tr), N);
    for (i = 0; i < tr->nevents; i++) {
        const struct pp_event *e = &tr->events[i];

        ck_assert_uint_eq(e->id, i);
        ck_assert(e->chunk);
        ck_assert_uint_eq(e->map, 1);
        ck_assert_uint_eq(e->first % 5, 0);
        ck_assert_int_eq(e->status, e->first % 10 == 5 ? EDOM : 0);
        ck_assert_int_eq(e->signal, 0);
        fails += e->status != 0;
    }
    ck_assert_uint_eq(fails, N / 10);
    pp_trace_free(tr);
    ck_assert_int_eq(pp_pool_trace(NULL, &tr), EINVAL);
    pp_pool_destroy(pool);
}
END_TEST

/*
 * A worker killed in item 13 of a map in chunks of 4: its frame (items
 * 12-15) ends failed at item 13, covering 12-13 and naming the signal;
 * 14-15 go out again as a new frame; the replacement writes on the same
 * track, with its own pid.
 */
START_TEST(a_killed_workers_last_frame_is_recorded_failed)
{
    enum { N = 40, KILL_AT = 13 };
    struct pp_pool *pool = recording_procs(2, 1000);
    struct pp_results *res;
    struct pp_trace *tr;
    const struct pp_event *dead = NULL;
    int args[N];
    size_t i, items;

    for (i = 0; i < N; i++)
        args[i] = KILL_AT;
    ck_assert_int_ne(pp_map(pool, pp_item, args, sizeof(args[0]), N,
                            &(struct pp_map_options){ .chunk_size = 4 },
                            &res), 0);
    pp_results_free(res);
    ck_assert_int_eq(pp_pool_trace(pool, &tr), 0);
    items = check_pp_events(tr);
    for (i = 0; i < tr->nevents; i++)
        if (tr->events[i].signal != 0) {
            ck_assert_ptr_null(dead);
            dead = &tr->events[i];
        }
    ck_assert_ptr_nonnull(dead);
    ck_assert_int_eq(dead->signal, SIGKILL);
    ck_assert_int_ne(dead->status, 0);
    ck_assert_uint_eq(dead->first, 12);
    ck_assert_uint_eq(dead->count, 2);
    /* Every item once: 12-13 in the dead frame, 14-15 sent again. */
    ck_assert_uint_eq(items, N);
    /* Whatever ran on its track after it ran in the replacement. */
    for (i = 0; i < tr->nevents; i++)
        if (tr->events[i].track == dead->track &&
            tr->events[i].id > dead->id)
            ck_assert_int_ne(tr->events[i].pid, dead->pid);
    pp_trace_free(tr);
    pp_pool_destroy(pool);
}
END_TEST

START_TEST(procs_recording_is_off_by_default)
{
    struct pp_options opt = PP_OPTIONS_INIT;
    struct pp_pool *pool;
    struct pp_trace *tr;

    opt.workers = 1;
    ck_assert_int_eq(pp_pool_create(&opt, &pool), 0);
    ck_assert_int_eq(pp_pool_trace(pool, &tr), ENOTSUP);
    ck_assert_ptr_null(tr);
    pp_trace_free(NULL);
    pp_pool_destroy(pool);
}
END_TEST

/* ---- Trace files ------------------------------------------------------ */

/* A folder of our own for the files of one test, and a path in it. */
static char tmpdir[64];

static void files_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_trace.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void files_teardown(void)
{
    char cmd[128];

    /* Only our own folder, by its exact name. */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *path_of(const char *name)
{
    static char path[128];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

static char *read_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    char *text;

    ck_assert_msg(fd >= 0, "cannot open %s", path);
    text = slurp(fd);
    close(fd);
    return text;
}

static size_t count_of(const char *text, const char *what)
{
    size_t n = 0;

    for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
        n++;
    return n;
}

/*
 * What C can check of a trace file without a JSON parser: one object
 * with the three keys, the tracks' names (caller first), `tasks` complete
 * events, and each id 0..tasks-1 exactly once.
 */
static void check_file_shape(const char *text, unsigned workers,
                             size_t tasks)
{
    size_t len = strlen(text);
    char want[96];

    ck_assert_uint_gt(len, 2);
    ck_assert_int_eq(text[0], '{');
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    ck_assert_int_eq(text[len - 1], '}');
    ck_assert_ptr_nonnull(strstr(text, "{\"traceEvents\": ["));
    ck_assert_ptr_nonnull(strstr(text, "\"displayTimeUnit\": \"ns\""));
    ck_assert_ptr_nonnull(strstr(text, "\"otherData\": {\"tool\": "
                                       "\"poolbench\""));
    ck_assert_uint_eq(count_of(text, "\"name\": \"process_name\""), 1);
    ck_assert_uint_eq(count_of(text, "\"name\": \"thread_name\""),
                      workers + 1);
    ck_assert_ptr_nonnull(strstr(text, "\"tid\": 0, \"args\": {\"name\": "
                                       "\"caller\"}"));
    snprintf(want, sizeof(want), "\"workers\": %u,", workers);
    ck_assert_ptr_nonnull(strstr(text, want));
    ck_assert_uint_eq(count_of(text, "\"ph\": \"X\""), tasks);
    for (size_t i = 0; i < tasks; i++) {
        snprintf(want, sizeof(want), "\"args\": {\"id\": %zu,", i);
        ck_assert_msg(count_of(text, want) == 1, "id %zu not once", i);
    }
}

/*
 * scripts/poolbench/trace.py's checker on path, with --tasks and
 * --workers when not negative.  Returns false, having said why on stderr,
 * when python3 or the checker cannot run here (the C checks still ran).
 */
static bool python_check(const char *path, long tasks, long workers)
{
    char t[32], w[32];
    const char *argv[12] = { "python3", "-m", "poolbench.trace", "check",
                             path, "-q" };
    int k = 6;
    struct run r;
    bool ran;

    if (tasks >= 0) {
        snprintf(t, sizeof(t), "%ld", tasks);
        argv[k++] = "--tasks";
        argv[k++] = t;
    }
    if (workers >= 0) {
        snprintf(w, sizeof(w), "%ld", workers);
        argv[k++] = "--workers";
        argv[k++] = w;
    }
    argv[k] = NULL;
    ck_assert_int_eq(setenv("PYTHONPATH", "scripts", 1), 0);
    run_argv(&r, (char *const *)argv, NULL);
    /* 127: no python3; a Python error with no checker: no module. */
    ran = r.status != 127 && strstr(r.err, "No module named") == NULL;
    if (!ran)
        fprintf(stderr, "test_trace: skipping the Python checker: %s\n",
                r.status == 127 ? "no python3" : r.err);
    else
        ck_assert_msg(r.status == 0, "%s: not a valid trace:\n%s%s", path,
                      r.out, r.err);
    run_free(&r);
    return ran;
}

START_TEST(harness_writes_a_valid_trace_of_tasks_and_a_map)
{
    static const char *const modes[] = { "threads", "seq", NULL };
    const struct bench_spec spec = { .name = "trace-test",
                                     .summary = "test", .modes = modes };
    const char *argv[] = { "trace-test", "--workers", "3", "--trace",
                           path_of("t.json"), "--trace-label",
                           "a \"label\"", NULL };
    static size_t out[100];
    struct tp_options opt;
    struct tp_pool *pool;
    struct bench b;
    char *text;

    ck_assert_int_eq(bench_parse(&b, &spec, 7, (char **)argv),
                     BENCH_CONTINUE);
    bench_tp_options(&b, &opt);
    ck_assert_int_eq(tp_pool_create(&opt, &pool), 0);
    run_tasks(pool, 50, EIO);
    ck_assert_int_eq(tp_map(pool, map_item, NULL, 100,
                            &(struct tp_map_options){
                                .out = out, .out_size = sizeof(out[0]),
                                .chunk_size = 10 }, NULL), ERANGE);
    ck_assert_int_eq(bench_trace_tp(&b, pool), 0);
    tp_pool_destroy(pool);
    ck_assert_int_eq(bench_finish(&b), 0);

    text = read_file(path_of("t.json"));
    check_file_shape(text, 3, 60);
    ck_assert_ptr_nonnull(strstr(text, "\"label\": \"a \\\"label\\\"\""));
    ck_assert_ptr_nonnull(strstr(text, "\"pool\": \"threads\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"chunk 50 (items 0-9)\""));
    ck_assert_ptr_nonnull(strstr(text, "\"status\": 5, \"failed\": true"));
    ck_assert_ptr_nonnull(strstr(text, "\"ph\": \"C\", \"name\": \"queue\""));
    free(text);
    python_check(path_of("t.json"), 60, 3);
}
END_TEST

START_TEST(harness_counts_what_a_small_buffer_dropped)
{
    struct tp_pool *pool = recording_pool(2, 8);
    struct tp_trace *tr;
    struct bench_trace t = { .benchmark = "x", .mode = "threads",
                             .pool = "threads", .label = "",
                             .commit = "unknown" };
    struct bench_trace_event *ev;
    FILE *f;
    char *text, want[64];

    run_tasks(pool, 100, 0);
    ck_assert_int_eq(tp_pool_trace(pool, &tr), 0);
    ev = calloc(tr->nevents, sizeof(*ev));
    ck_assert_ptr_nonnull(ev);
    for (size_t i = 0; i < tr->nevents; i++) {
        ev[i].id = tr->events[i].id;
        ev[i].queued_ns = tr->events[i].queued_ns;
        ev[i].start_ns = tr->events[i].start_ns;
        ev[i].end_ns = tr->events[i].end_ns;
        ev[i].track = tr->events[i].track;
        ev[i].os_id = tr->events[i].os_id;
    }
    t.workers = tr->workers;
    t.origin_ns = tr->origin_ns;
    t.dropped = tr->dropped;
    t.events = ev;
    t.nevents = tr->nevents;
    ck_assert_ptr_nonnull(f = fopen(path_of("d.json"), "w"));
    ck_assert_int_eq(bench_trace_write(f, &t), 0);
    ck_assert_int_eq(fclose(f), 0);
    text = read_file(path_of("d.json"));
    snprintf(want, sizeof(want), "\"dropped\": %ju,",
             (uintmax_t)tr->dropped);
    ck_assert_uint_gt(tr->dropped, 0);
    ck_assert_ptr_nonnull(strstr(text, want));
    ck_assert_uint_eq(count_of(text, "\"ph\": \"X\""), tr->nevents);
    free(text);
    python_check(path_of("d.json"), 100, 2);
    free(ev);
    tp_trace_free(tr);
    tp_pool_destroy(pool);
}
END_TEST

/* Runs a benchmark program of bin_dir() with argv[1..] and --trace. */
static void run_traced(const char *prog, const char *const *args,
                       const char *trace, struct run *r)
{
    char path[512];
    const char *argv[32];
    int k = 0;

    snprintf(path, sizeof(path), "%s/%s", bin_dir(), prog);
    argv[k++] = path;
    for (; *args != NULL; args++)
        argv[k++] = *args;
    argv[k++] = "--format";
    argv[k++] = "csv";
    argv[k++] = "--trace";
    argv[k++] = (char *)trace;
    argv[k] = NULL;
    run_argv(r, (char *const *)argv, NULL);
}

START_TEST(every_benchmark_writes_a_valid_trace)
{
    struct {
        const char *prog;
        const char *args[12];
        long tasks, workers;
        const char *must;       /* in the file too, if not NULL */
    } runs[] = {
        { "primes", { "--mode", "threads", "--workers", "2", "--n",
                      "20000", NULL }, -1, 2, NULL },
        { "primes", { "--mode", "threads", "--gil", "--workers", "2",
                      "--n", "20000", NULL }, -1, 2, "\"began_us\": " },
        /* A map of 100 chunks, run by one task of the pool. */
        { "chunks", { "--workers", "2", "--n", "1000", "--min-chunk", "10",
                      "--max-chunk", "10", NULL }, 101, 2, NULL },
        { "sum", { "--mode", "threads", "--workers", "2", "--n", "100000",
                   NULL }, -1, 2, NULL },
        { "io", { "--workers", "8", "--tasks", "16", "--delay-ms", "1",
                  NULL }, 16, 8, NULL },
        { "crawl", { "--mode", "threads", "--workers", "3", "--pages", "9",
                     "--delay-ms", "1", NULL }, 9, 3, NULL },
        { "primes", { "--mode", "seq", "--n", "1000", NULL }, 0, 0, NULL },
        { "primes", { "--mode", "procs", "--workers", "2", "--n", "20000",
                      NULL }, -1, 2, NULL },
        { "chunks", { "--mode", "procs", "--workers", "2", "--n", "1000",
                      "--min-chunk", "10", "--max-chunk", "10", NULL },
          100, 2, NULL },
        { "io", { "--mode", "procs", "--workers", "4", "--tasks", "8",
                  "--delay-ms", "1", NULL }, 8, 4, NULL },
        /* 20 batches; the worker of batch 10 kills itself. */
        { "chunks", { "--mode", "procs", "--workers", "2", "--n", "20000",
                      "--min-chunk", "1000", "--max-chunk", "1000",
                      "--kill-worker", NULL }, 20, 2,
          "\"note\": \"killed by signal 9\"" },
    };

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        char name[32], *text;
        struct run r;

        snprintf(name, sizeof(name), "%zu.json", i);
        run_traced(runs[i].prog, runs[i].args, path_of(name), &r);
        ck_assert_msg(r.status == 0, "%s: status %d: %s", runs[i].prog,
                      r.status, r.err);
        run_free(&r);
        text = read_file(path_of(name));
        if (runs[i].tasks >= 0)
            check_file_shape(text, (unsigned)runs[i].workers,
                             (size_t)runs[i].tasks);
        ck_assert_ptr_nonnull(strstr(text, runs[i].workers == 0
                                           ? "\"pool\": \"none\""
                                           : strstr(runs[i].args[1], "procs")
                                           ? "\"pool\": \"processes\""
                                           : "\"pool\": \"threads\""));
        if (runs[i].must != NULL)
            ck_assert_msg(strstr(text, runs[i].must) != NULL,
                          "%s: no %s", runs[i].prog, runs[i].must);
        free(text);
        python_check(path_of(name), runs[i].tasks, runs[i].workers);
    }
}
END_TEST

START_TEST(an_unwritable_trace_is_a_usage_error_that_leaves_nothing)
{
    const char *args[] = { "--mode", "threads", "--n", "1000", "--out",
                           path_of("out.csv"), NULL };
    struct run r;

    run_traced("primes", args, path_of("no/such/folder/t.json"), &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--trace"));
    run_free(&r);
    ck_assert_int_ne(access(path_of("out.csv"), F_OK), 0);
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tp = tcase_create("threadpool");
    TCase *procs = tcase_create("procs");
    TCase *files = tcase_create("files");

    tcase_set_timeout(tp, 30);
    tcase_add_test(tp, recording_is_off_by_default);
    tcase_add_test(tp, buffers_too_large_for_memory_fail_the_create);
    tcase_add_test(tp, every_task_appears_once_on_a_worker_track);
    tcase_add_test(tp, map_chunks_cover_every_item_once);
    tcase_add_test(tp, chunks_the_caller_runs_go_on_track_0);
    tcase_add_test(tp, tasks_and_chunks_share_one_count_of_ids);
    tcase_add_test(tp, a_task_may_say_when_its_own_work_began);
    tcase_add_test(tp, a_full_buffer_drops_and_counts);
    tcase_add_test(tp, queue_samples_stay_between_zero_and_what_was_queued);
    tcase_add_test(tp, a_dynamic_pool_has_a_track_per_possible_worker);
    tcase_add_test(tp, reading_while_tasks_run_sees_whole_events);
    tcase_add_test(tp, cancelled_tasks_leave_no_event);
    suite_add_tcase(s, tp);

    tcase_set_timeout(procs, 60);
    tcase_add_test(procs, procs_recording_is_off_by_default);
    tcase_add_test(procs, procs_record_every_frame_in_the_workers);
    tcase_add_test(procs, a_killed_workers_last_frame_is_recorded_failed);
    suite_add_tcase(s, procs);

    tcase_set_timeout(files, 60);
    tcase_add_checked_fixture(files, files_setup, files_teardown);
    tcase_add_test(files, harness_writes_a_valid_trace_of_tasks_and_a_map);
    tcase_add_test(files, harness_counts_what_a_small_buffer_dropped);
    tcase_add_test(files, every_benchmark_writes_a_valid_trace);
    tcase_add_test(files,
                   an_unwritable_trace_is_a_usage_error_that_leaves_nothing);
    suite_add_tcase(s, files);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trace_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

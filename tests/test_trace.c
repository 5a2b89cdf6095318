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

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

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

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tp = tcase_create("threadpool");

    tcase_set_timeout(tp, 30);
    tcase_add_test(tp, recording_is_off_by_default);
    tcase_add_test(tp, buffers_too_large_for_memory_fail_the_create);
    tcase_add_test(tp, every_task_appears_once_on_a_worker_track);
    tcase_add_test(tp, map_chunks_cover_every_item_once);
    tcase_add_test(tp, chunks_the_caller_runs_go_on_track_0);
    tcase_add_test(tp, tasks_and_chunks_share_one_count_of_ids);
    tcase_add_test(tp, a_full_buffer_drops_and_counts);
    tcase_add_test(tp, queue_samples_stay_between_zero_and_what_was_queued);
    tcase_add_test(tp, a_dynamic_pool_has_a_track_per_possible_worker);
    tcase_add_test(tp, reading_while_tasks_run_sees_whole_events);
    tcase_add_test(tp, cancelled_tasks_leave_no_event);
    suite_add_tcase(s, tp);
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

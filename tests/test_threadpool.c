/*
 * test_threadpool.c - the thread pool's tests (Check).
 *
 * Each test pins down one behaviour promised by pools/threadpool.h.  Tests
 * that need a task to stay "running" hold it at a gate (tests/support.h: a
 * mutex, a condition variable and a flag) that the test opens when it is
 * ready, so no test depends on how long anything takes.  The few tests
 * that must watch something happen later (a worker retiring after its idle
 * timeout) poll the counters until it does; Check's timeout fails them if
 * it never does.  No test asserts a time.
 */
/* _GNU_SOURCE: sched_getaffinity and CPU_COUNT (Linux, not POSIX), to check
 * tp_cpu_count against the affinity mask independently. */
#define _GNU_SOURCE
#include "threadpool.h"
#include "support.h"

#include <check.h>
#include <sched.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- Helpers --------------------------------------------------------- */

static struct tp_pool *make_pool(unsigned workers)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *p = NULL;

    opt.workers = workers;
    ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
    ck_assert_ptr_nonnull(p);
    return p;
}

static int gated_task(void *arg, void **result)
{
    gate_pass(arg);
    *result = arg;
    return 0;
}

/* Adds 1 to the atomic counter arg. */
static int count_task(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add((_Atomic long *)arg, 1);
    return 0;
}

/* Returns the int at arg as its status, and arg as its result. */
static int status_task(void *arg, void **result)
{
    *result = arg;
    return *(int *)arg;
}

static void noop_cb(struct tp_future *f, void *arg)
{
    (void)f;
    (void)arg;
}

/* ---- Creating a pool ------------------------------------------------- */

START_TEST(create_with_zero_workers_uses_every_cpu)
{
    struct tp_pool *p = NULL;
    struct tp_stats st;

    ck_assert_int_eq(tp_pool_create(NULL, &p), 0);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_ge(tp_cpu_count(), 1);
    ck_assert_uint_eq(st.workers, tp_cpu_count());
    ck_assert_uint_eq(st.workers_max, tp_cpu_count());
    tp_pool_destroy(p);
}
END_TEST

START_TEST(cpu_count_is_the_affinity_mask)
{
    cpu_set_t set;

    ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    ck_assert_uint_eq(tp_cpu_count(), (unsigned)CPU_COUNT(&set));
}
END_TEST

START_TEST(create_rejects_bad_idle_timeout)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *p = (struct tp_pool *)&opt;

    opt.idle_timeout_s = -1;
    ck_assert_int_eq(tp_pool_create(&opt, &p), EINVAL);
    ck_assert_ptr_null(p);
    opt.idle_timeout_s = NAN;
    ck_assert_int_eq(tp_pool_create(&opt, &p), EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(tp_pool_create(NULL, NULL), EINVAL);
}
END_TEST

START_TEST(destroy_and_free_accept_null)
{
    tp_pool_destroy(NULL);
    tp_future_free(NULL);
}
END_TEST

/* ---- Submit and futures ---------------------------------------------- */

START_TEST(submit_returns_result_and_status)
{
    struct tp_pool *p = make_pool(2);
    struct tp_future *ok, *bad;
    int zero = 0, edom = EDOM;
    void *res = NULL;

    ck_assert_int_eq(tp_submit(p, status_task, &zero, &ok), 0);
    ck_assert_int_eq(tp_submit(p, status_task, &edom, &bad), 0);
    ck_assert_int_eq(tp_future_get(ok, &res), 0);
    ck_assert_ptr_eq(res, &zero);
    /* A non-zero status is the task's "exception": it reaches the waiter,
     * with whatever result the task left. */
    ck_assert_int_eq(tp_future_get(bad, &res), EDOM);
    ck_assert_ptr_eq(res, &edom);
    ck_assert_int_eq(tp_future_get(bad, NULL), EDOM);
    ck_assert(tp_future_done(ok));
    tp_future_free(ok);
    tp_future_free(bad);
    tp_pool_destroy(p);
}
END_TEST

START_TEST(submit_rejects_null_arguments)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *f = (struct tp_future *)p;

    ck_assert_int_eq(tp_submit(NULL, count_task, NULL, &f), EINVAL);
    ck_assert_ptr_null(f);
    f = (struct tp_future *)p;
    ck_assert_int_eq(tp_submit(p, NULL, NULL, &f), EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(tp_try_submit(p, NULL, NULL, NULL), EINVAL);
    tp_pool_destroy(p);
}
END_TEST

START_TEST(submit_without_future_runs_the_task)
{
    struct tp_pool *p = make_pool(2);
    _Atomic long count = 0;
    struct tp_stats st;
    int i;

    for (i = 0; i < 100; i++)
        ck_assert_int_eq(tp_submit(p, count_task, &count, NULL), 0);
    tp_pool_destroy(p);        /* FINISH: runs everything, then joins */
    ck_assert_int_eq(atomic_load(&count), 100);
    (void)st;
}
END_TEST

START_TEST(future_wait_times_out_and_task_carries_on)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *f;
    struct gate g;
    void *res = NULL;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &f), 0);
    ck_assert_int_eq(tp_future_wait(f, 0), ETIMEDOUT);
    ck_assert_int_eq(tp_future_wait(f, 0.02), ETIMEDOUT);
    ck_assert(!tp_future_done(f));
    ck_assert_int_eq(tp_future_wait(f, NAN), EINVAL);
    ck_assert_int_eq(tp_future_wait(NULL, 1), EINVAL);
    ck_assert_int_eq(tp_future_cancel(NULL), EINVAL);
    ck_assert_int_eq(tp_future_on_done(NULL, noop_cb, NULL), EINVAL);
    gate_open(&g);
    ck_assert_int_eq(tp_future_wait(f, TP_WAIT_FOREVER), 0);
    ck_assert(tp_future_done(f));
    ck_assert_int_eq(tp_future_wait(f, 0), 0);
    ck_assert_int_eq(tp_future_get(f, &res), 0);
    ck_assert_ptr_eq(res, &g);
    tp_future_free(f);
    tp_pool_destroy(p);
    gate_release(&g);
}
END_TEST

START_TEST(future_wait_with_timeout_sees_completion)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *f;
    struct gate g;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &f), 0);
    gate_await(&g, 1);
    gate_open(&g);
    /* A long timeout returns as soon as the task is done. */
    ck_assert_int_eq(tp_future_wait(f, 3600), 0);
    tp_future_free(f);
    tp_pool_destroy(p);
    gate_release(&g);
}
END_TEST

START_TEST(future_outlives_its_pool)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *fs[100];
    int i, edom = EDOM;

    for (i = 0; i < 100; i++)
        ck_assert_int_eq(tp_submit(p, status_task, &edom, &fs[i]), 0);
    /* Free half before the pool goes (their memory returns to its store),
     * half after (the store is gone: the last one out frees it). */
    for (i = 0; i < 50; i++)
        tp_future_free(fs[i]);
    tp_pool_destroy(p);
    for (i = 50; i < 100; i++) {
        ck_assert(tp_future_done(fs[i]));
        ck_assert_int_eq(tp_future_get(fs[i], NULL), EDOM);
        tp_future_free(fs[i]);
    }
}
END_TEST

START_TEST(free_while_task_runs_is_safe)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *running, *queued;
    struct gate g;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &running), 0);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &queued), 0);
    gate_await(&g, 1);
    /* Give up both futures while one task runs and one waits: the pool
     * holds its own reference (ASan and valgrind watch this test). */
    tp_future_free(running);
    tp_future_free(queued);
    gate_open(&g);
    tp_pool_destroy(p);
    ck_assert_int_eq(g.arrived, 2);
    gate_release(&g);
}
END_TEST

/*
 * A freed future's memory is reused by a later submit: nothing of its last
 * life (state, status, result, callback) may show through.  Fifty rounds,
 * so that the store hands back futures that had callbacks and errors.
 */
START_TEST(recycled_futures_start_clean)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *f;
    struct gate g;
    void *res;
    int i, edom = EDOM;

    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(tp_submit(p, status_task, &edom, &f), 0);
        ck_assert_int_eq(tp_future_on_done(f, noop_cb, NULL), 0);
        ck_assert_int_eq(tp_future_get(f, &res), EDOM);
        ck_assert_ptr_eq(res, &edom);
        tp_future_free(f);

        gate_init(&g);
        ck_assert_int_eq(tp_submit(p, gated_task, &g, &f), 0);
        ck_assert(!tp_future_done(f));
        ck_assert_int_eq(tp_future_wait(f, 0), ETIMEDOUT);
        ck_assert_int_eq(tp_future_on_done(f, noop_cb, NULL), 0);
        gate_open(&g);
        ck_assert_int_eq(tp_future_get(f, &res), 0);
        ck_assert_ptr_eq(res, &g);
        tp_future_free(f);
        gate_release(&g);
    }
    tp_pool_destroy(p);
}
END_TEST

struct freer {
    struct tp_future **fs;
    int n;
};

static void *free_futures(void *arg)
{
    struct freer *fr = arg;
    int i;

    for (i = 0; i < fr->n; i++)
        tp_future_free(fr->fs[i]);
    return NULL;
}

/*
 * Futures given back by another thread while the pool is destroyed: each
 * one, the pool's store of freed ones and the store's own memory must be
 * freed exactly once, whichever side gets there first (ASan, valgrind and
 * ThreadSanitizer watch this test).
 */
START_TEST(futures_freed_while_the_pool_is_destroyed)
{
    struct tp_pool *p = make_pool(2);
    struct tp_future *fs[400];
    struct freer fr = { fs + 100, 300 };
    _Atomic long count = 0;
    pthread_t t;
    int i;

    for (i = 0; i < 400; i++)
        ck_assert_int_eq(tp_submit(p, count_task, &count, &fs[i]), 0);
    ck_assert_int_eq(tp_wait_all(fs, 400, TP_WAIT_FOREVER), 0);
    for (i = 0; i < 100; i++)
        tp_future_free(fs[i]);
    ck_assert_int_eq(pthread_create(&t, NULL, free_futures, &fr), 0);
    tp_pool_destroy(p);
    pthread_join(t, NULL);
    ck_assert_int_eq(atomic_load(&count), 400);
}
END_TEST

/* ---- Cancel ---------------------------------------------------------- */

START_TEST(cancel_stops_a_task_that_has_not_started)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *running, *queued;
    struct tp_stats st;
    _Atomic long count = 0;
    struct gate g;
    void *res = &g;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &running), 0);
    gate_await(&g, 1);
    ck_assert_int_eq(tp_submit(p, count_task, &count, &queued), 0);
    ck_assert_int_eq(tp_future_cancel(queued), 0);
    ck_assert(tp_future_done(queued));
    ck_assert_int_eq(tp_future_get(queued, &res), ECANCELED);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(tp_future_cancel(queued), EBUSY);
    /* A running task cannot be cancelled. */
    ck_assert_int_eq(tp_future_cancel(running), EBUSY);
    gate_open(&g);
    ck_assert_int_eq(tp_future_get(running, NULL), 0);
    /* Nor a finished one. */
    ck_assert_int_eq(tp_future_cancel(running), EBUSY);
    tp_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&count), 0);
    tp_future_free(running);
    tp_future_free(queued);
    gate_release(&g);
    (void)st;
}
END_TEST

/* ---- Callbacks ------------------------------------------------------- */

struct cb_probe {
    pthread_t task_thread;      /* set by the task */
    pthread_t cb_thread;        /* set by the callback */
    int status;                 /* tp_future_get in the callback */
    _Atomic int calls;
    struct gate *gate;          /* the task waits here if not NULL */
    struct tp_pool *pool;       /* the callback submits here if not NULL */
    _Atomic long submitted_ran;
    int submit_rc;
    bool free_future;           /* the callback frees the future */
};

static int probe_task(void *arg, void **result)
{
    struct cb_probe *pr = arg;

    pr->task_thread = pthread_self();
    if (pr->gate != NULL)
        gate_pass(pr->gate);
    *result = pr;
    return ERANGE;
}

static void probe_cb(struct tp_future *f, void *arg)
{
    struct cb_probe *pr = arg;

    pr->cb_thread = pthread_self();
    pr->status = tp_future_get(f, NULL);
    if (pr->pool != NULL)
        pr->submit_rc = tp_submit(pr->pool, count_task, &pr->submitted_ran,
                                  NULL);
    if (pr->free_future)
        tp_future_free(f);
    atomic_fetch_add(&pr->calls, 1);
}

START_TEST(callback_runs_in_the_worker_when_the_task_finishes)
{
    struct tp_pool *p = make_pool(1);
    struct cb_probe pr = { 0 };
    struct tp_future *f;
    struct gate g;

    gate_init(&g);
    pr.gate = &g;
    ck_assert_int_eq(tp_submit(p, probe_task, &pr, &f), 0);
    gate_await(&g, 1);
    ck_assert_int_eq(tp_future_on_done(f, probe_cb, &pr), 0);
    ck_assert_int_eq(atomic_load(&pr.calls), 0);
    gate_open(&g);
    ck_assert_int_eq(tp_future_get(f, NULL), ERANGE);
    tp_pool_destroy(p);        /* the worker has surely left the callback */
    ck_assert_int_eq(atomic_load(&pr.calls), 1);
    ck_assert(pthread_equal(pr.cb_thread, pr.task_thread));
    ck_assert(!pthread_equal(pr.cb_thread, pthread_self()));
    ck_assert_int_eq(pr.status, ERANGE);
    tp_future_free(f);
    gate_release(&g);
}
END_TEST

START_TEST(callback_on_a_done_future_runs_at_once_in_the_caller)
{
    struct tp_pool *p = make_pool(1);
    struct cb_probe pr = { 0 };
    struct tp_future *f;

    ck_assert_int_eq(tp_submit(p, probe_task, &pr, &f), 0);
    ck_assert_int_eq(tp_future_get(f, NULL), ERANGE);
    ck_assert_int_eq(tp_future_on_done(f, probe_cb, &pr), 0);
    ck_assert_int_eq(atomic_load(&pr.calls), 1);
    ck_assert(pthread_equal(pr.cb_thread, pthread_self()));
    ck_assert_int_eq(pr.status, ERANGE);
    tp_future_free(f);
    tp_pool_destroy(p);
}
END_TEST

START_TEST(callback_only_one_per_future)
{
    struct tp_pool *p = make_pool(1);
    struct cb_probe pr = { 0 };
    struct tp_future *f;

    ck_assert_int_eq(tp_submit(p, probe_task, &pr, &f), 0);
    ck_assert_int_eq(tp_future_on_done(f, NULL, NULL), EINVAL);
    ck_assert_int_eq(tp_future_on_done(f, probe_cb, &pr), 0);
    ck_assert_int_eq(tp_future_on_done(f, probe_cb, &pr), EBUSY);
    tp_future_get(f, NULL);
    tp_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&pr.calls), 1);
    tp_future_free(f);
}
END_TEST

START_TEST(callback_on_cancel_runs_in_the_cancelling_thread)
{
    struct tp_pool *p = make_pool(1);
    struct cb_probe pr = { 0 };
    struct tp_future *blocker, *f;
    struct gate g;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &blocker), 0);
    gate_await(&g, 1);
    ck_assert_int_eq(tp_submit(p, probe_task, &pr, &f), 0);
    ck_assert_int_eq(tp_future_on_done(f, probe_cb, &pr), 0);
    ck_assert_int_eq(tp_future_cancel(f), 0);
    ck_assert_int_eq(atomic_load(&pr.calls), 1);
    ck_assert(pthread_equal(pr.cb_thread, pthread_self()));
    ck_assert_int_eq(pr.status, ECANCELED);
    gate_open(&g);
    tp_future_free(blocker);
    tp_future_free(f);
    tp_pool_destroy(p);
    gate_release(&g);
}
END_TEST

START_TEST(callback_may_submit_and_free_its_future)
{
    struct tp_pool *p = make_pool(2);
    struct cb_probe pr = { 0 };
    struct tp_future *f;
    struct gate g;

    gate_init(&g);
    pr.gate = &g;
    pr.pool = p;
    pr.free_future = true;     /* we hand our ownership to the callback */
    ck_assert_int_eq(tp_submit(p, probe_task, &pr, &f), 0);
    ck_assert_int_eq(tp_future_on_done(f, probe_cb, &pr), 0);
    gate_open(&g);
    /* Wait for the callback (we gave up the future) before the pool goes
     * down, else its submit could meet a shut-down pool. */
    while (atomic_load(&pr.calls) == 0)
        sleep_ms(1);
    tp_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&pr.calls), 1);
    ck_assert_int_eq(pr.submit_rc, 0);
    ck_assert_int_eq(atomic_load(&pr.submitted_ran), 1);
    gate_release(&g);
}
END_TEST

/* ---- Waiting for any or all ------------------------------------------ */

START_TEST(wait_any_returns_the_future_that_finished)
{
    struct tp_pool *p1 = make_pool(1), *p2 = make_pool(1);
    struct tp_future *fs[3];
    struct gate g1, g2;
    int zero = 0;
    size_t idx = 99;

    gate_init(&g1);
    gate_init(&g2);
    ck_assert_int_eq(tp_submit(p1, gated_task, &g1, &fs[0]), 0);
    ck_assert_int_eq(tp_submit(p2, gated_task, &g2, &fs[1]), 0);
    ck_assert_int_eq(tp_submit(p1, status_task, &zero, &fs[2]), 0);
    gate_await(&g1, 1);
    gate_await(&g2, 1);
    ck_assert_int_eq(tp_wait_any(fs, 3, 0, &idx), ETIMEDOUT);
    ck_assert_int_eq(tp_wait_any(fs, 3, 0.02, &idx), ETIMEDOUT);
    ck_assert_uint_eq(idx, 99);
    /* Futures from two pools: the one of pool 2 finishes first. */
    gate_open(&g2);
    ck_assert_int_eq(tp_wait_any(fs, 3, TP_WAIT_FOREVER, &idx), 0);
    ck_assert_uint_eq(idx, 1);
    ck_assert_int_eq(tp_wait_any(fs, 1, 0.01, &idx), ETIMEDOUT);
    gate_open(&g1);
    ck_assert_int_eq(tp_wait_any(fs, 1, 3600, &idx), 0);
    ck_assert_uint_eq(idx, 0);
    ck_assert_int_eq(tp_wait_all(fs, 3, TP_WAIT_FOREVER), 0);
    tp_pool_destroy(p1);
    tp_pool_destroy(p2);
    for (idx = 0; idx < 3; idx++)
        tp_future_free(fs[idx]);
    gate_release(&g1);
    gate_release(&g2);
}
END_TEST

START_TEST(wait_any_and_all_reject_bad_arguments)
{
    struct tp_pool *p = make_pool(1);
    struct tp_future *fs[2] = { NULL, NULL };
    _Atomic long count = 0;
    size_t idx;

    ck_assert_int_eq(tp_wait_any(fs, 0, 1, &idx), EINVAL);
    ck_assert_int_eq(tp_wait_any(fs, 2, 1, &idx), EINVAL);
    ck_assert_int_eq(tp_wait_all(fs, 2, 1), EINVAL);
    ck_assert_int_eq(tp_wait_all(fs, 0, 1), 0);
    ck_assert_int_eq(tp_submit(p, count_task, &count, &fs[0]), 0);
    ck_assert_int_eq(tp_wait_all(fs, 1, NAN), EINVAL);
    ck_assert_int_eq(tp_wait_any(fs, 1, NAN, &idx), EINVAL);
    tp_pool_destroy(p);
    tp_future_free(fs[0]);
}
END_TEST

START_TEST(wait_all_times_out_while_one_runs)
{
    struct tp_pool *p = make_pool(2);
    struct tp_future *fs[2];
    struct gate g;
    int zero = 0;

    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, status_task, &zero, &fs[0]), 0);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &fs[1]), 0);
    ck_assert_int_eq(tp_wait_all(fs, 2, 0.02), ETIMEDOUT);
    ck_assert_int_eq(tp_wait_all(fs, 2, 0), ETIMEDOUT);
    gate_open(&g);
    ck_assert_int_eq(tp_wait_all(fs, 2, 3600), 0);
    ck_assert(tp_future_done(fs[0]) && tp_future_done(fs[1]));
    tp_future_free(fs[0]);
    tp_future_free(fs[1]);
    tp_pool_destroy(p);
    gate_release(&g);
}
END_TEST

START_TEST(only_wait_forever_may_be_negative)
{
    const double bad[] = { -2.0, -0.5, -1e-9, -INFINITY, NAN };
    struct tp_pool *p = make_pool(1);
    struct tp_future *f;
    int zero = 0;
    size_t b, idx = 99;

    ck_assert_int_eq(tp_submit(p, status_task, &zero, &f), 0);
    ck_assert_int_eq(tp_future_wait(f, TP_WAIT_FOREVER), 0);
    ck_assert_int_eq(tp_wait_all(&f, 1, TP_WAIT_FOREVER), 0);
    ck_assert_int_eq(tp_wait_any(&f, 1, TP_WAIT_FOREVER, &idx), 0);
    ck_assert_uint_eq(idx, 0);
    /* -0.0 is zero, not a negative timeout: just look. */
    ck_assert_int_eq(tp_future_wait(f, -0.0), 0);
    /* f is done, so a wrong timeout is the only thing that can fail. */
    for (b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
        idx = 99;
        ck_assert_int_eq(tp_future_wait(f, bad[b]), EINVAL);
        ck_assert_int_eq(tp_wait_all(&f, 1, bad[b]), EINVAL);
        ck_assert_int_eq(tp_wait_any(&f, 1, bad[b], &idx), EINVAL);
        ck_assert_uint_eq(idx, 99);
    }
    tp_future_free(f);
    tp_pool_destroy(p);
}
END_TEST

/* ---- Map ------------------------------------------------------------- */

struct map_ctx {
    _Atomic long calls;
    size_t fail_a, fail_b;      /* items that fail (EDOM, ERANGE) */
};

/* tp_map's options for arrays of longs: item i from in[i] to out[i]. */
#define LONGS(src, dst, chunk)                                           \
    (&(struct tp_map_options){ .in = (src), .in_size = sizeof(long),    \
                               .out = (dst), .out_size = sizeof(long),  \
                               .chunk_size = (chunk) })

static int triple_plus_index(void *arg, size_t i, const void *in, void *out)
{
    struct map_ctx *ctx = arg;

    atomic_fetch_add(&ctx->calls, 1);
    if (i == ctx->fail_a)
        return EDOM;
    if (i == ctx->fail_b)
        return ERANGE;
    *(long *)out = 3 * *(const long *)in + (long)i;
    return 0;
}

START_TEST(map_preserves_order_for_every_chunk_size)
{
    enum { N = 1001 };
    const size_t chunks[] = { 0, 1, 2, 3, 7, 64, 500, N - 1, N, N + 5 };
    struct tp_pool *p = make_pool(3);
    long *in = malloc(N * sizeof(*in)), *out = malloc(N * sizeof(*out));
    size_t c, i, bad;

    ck_assert(in != NULL && out != NULL);
    for (i = 0; i < N; i++)
        in[i] = (long)(i * 7919 % 1000);
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };

        memset(out, 0xff, N * sizeof(*out));
        ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, N,
                                LONGS(in, out, chunks[c]), &bad), 0);
        ck_assert_uint_eq(bad, TP_NO_INDEX);
        ck_assert_int_eq(atomic_load(&ctx.calls), N);
        for (i = 0; i < N; i++)
            ck_assert_int_eq(out[i], 3 * in[i] + (long)i);
    }
    tp_pool_destroy(p);
    free(in);
    free(out);
}
END_TEST

/*
 * Each speed trick switched off (struct tp_tuning) changes only how fast
 * the pool is: every task still runs once, statuses and results still come
 * back, map still fills every item in order.
 */
START_TEST(each_trick_switched_off_keeps_every_behaviour)
{
    enum { TASKS = 200, N = 1001 };
    long *in = malloc(N * sizeof(*in)), *out = malloc(N * sizeof(*out));
    int statuses[TASKS];
    unsigned off;
    size_t i, bad;

    ck_assert(in != NULL && out != NULL);
    for (i = 0; i < N; i++)
        in[i] = (long)i;
    for (off = 0; off <= 7; off++) {
        struct tp_options opt = TP_OPTIONS_INIT;
        struct tp_tuning tuning = TP_TUNING_INIT;
        struct tp_future *fs[TASKS];
        struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };
        struct tp_pool *p = NULL;
        _Atomic long count = 0;
        void *result;

        opt.workers = 2;
        tuning.no_poll = off == 1;
        tuning.no_recycle = off == 2;
        tuning.two_trips = off == 3;
        tuning.wake_always = off == 4;
        tuning.no_caller_in_map = off == 5;
        tuning.spin_ns = off == 6 ? -1 : 0;  /* never poll, the other way */
        tuning.no_cascade = off == 7;
        opt.tuning = &tuning;
        ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
        for (i = 0; i < TASKS; i++) {
            statuses[i] = (int)(i % 3);
            ck_assert_int_eq(tp_submit(p, status_task, &statuses[i], &fs[i]),
                             0);
            ck_assert_int_eq(tp_submit(p, count_task, &count, NULL), 0);
        }
        for (i = 0; i < TASKS; i++) {
            ck_assert_int_eq(tp_future_get(fs[i], &result), (int)(i % 3));
            ck_assert_ptr_eq(result, &statuses[i]);
            tp_future_free(fs[i]);
        }
        ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, N,
                                LONGS(in, out, 7), &bad), 0);
        ck_assert_int_eq(atomic_load(&ctx.calls), N);
        for (i = 0; i < N; i++)
            ck_assert_int_eq(out[i], 3 * in[i] + (long)i);
        ck_assert_int_eq(tp_pool_shutdown(p, TP_SHUTDOWN_FINISH), 0);
        tp_pool_destroy(p);
        ck_assert_int_eq(atomic_load(&count), TASKS);
    }
    free(in);
    free(out);
}
END_TEST

/*
 * Waking many sleepers, with the cascade (a worker that takes a task and
 * sees more waiting wakes the next sleeper) and without it
 * (tp_tuning.no_cascade: only submit wakes workers).  Either way, many
 * tasks that sleep, queued at once on many sleeping workers, must each
 * run exactly once and every worker must run: a wake-up lost on the way
 * would leave tasks queued beside an idle worker.  Each round ends with
 * one gated task per worker, and the gate needs every worker in it at
 * once: a worker never woken would hang the test until Check's timeout.
 * The rounds are apart by a pause so that the workers go to sleep in
 * between (their poll lasts TP_SPIN_DEFAULT_NS); if one is still awake,
 * the test checks the same behaviour, only less of the waking.
 */
struct sleeper {
    _Atomic int runs;           /* how many times the task ran */
};

/* Sleeps a millisecond, so that its worker is busy while more are
 * queued, and counts its run. */
static int sleeper_task(void *arg, void **result)
{
    struct sleeper *sl = arg;

    sleep_ms(1);
    atomic_fetch_add(&sl->runs, 1);
    *result = sl;
    return 0;
}

START_TEST(waking_many_workers_with_or_without_cascade_loses_nothing)
{
    enum { ROUNDS = 3, PER_WORKER = 4 };
    unsigned workers = tests_slow() ? 16 : 64;
    size_t tasks = (size_t)PER_WORKER * workers, i;
    struct sleeper *sl = calloc(tasks, sizeof(*sl));
    struct tp_future **fs = calloc(tasks, sizeof(*fs));
    struct tp_future **gfs = calloc(workers, sizeof(*gfs));

    ck_assert(sl != NULL && fs != NULL && gfs != NULL);
    for (int no_cascade = 0; no_cascade <= 1; no_cascade++) {
        struct tp_options opt = TP_OPTIONS_INIT;
        struct tp_tuning tuning = TP_TUNING_INIT;
        struct tp_pool *p = NULL;
        struct tp_stats st;
        void *result;

        opt.workers = workers;
        tuning.no_cascade = no_cascade;
        opt.tuning = &tuning;
        ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
        for (int round = 0; round < ROUNDS; round++) {
            struct gate g;

            gate_init(&g);
            sleep_ms(20);
            for (i = 0; i < tasks; i++) {
                atomic_store(&sl[i].runs, 0);
                ck_assert_int_eq(tp_submit(p, sleeper_task, &sl[i], &fs[i]),
                                 0);
            }
            for (i = 0; i < workers; i++)
                ck_assert_int_eq(tp_submit(p, gated_task, &g, &gfs[i]), 0);
            /* Every worker, each in the gate at the same time. */
            gate_await(&g, (int)workers);
            gate_open(&g);
            for (i = 0; i < tasks; i++) {
                ck_assert_int_eq(tp_future_get(fs[i], &result), 0);
                ck_assert_ptr_eq(result, &sl[i]);
                ck_assert_int_eq(atomic_load(&sl[i].runs), 1);
                tp_future_free(fs[i]);
            }
            for (i = 0; i < workers; i++) {
                ck_assert_int_eq(tp_future_get(gfs[i], &result), 0);
                ck_assert_ptr_eq(result, &g);
                tp_future_free(gfs[i]);
            }
            gate_release(&g);
        }
        ck_assert_int_eq(tp_pool_stats(p, &st), 0);
        ck_assert_uint_eq(st.submitted, ROUNDS * (tasks + workers));
        ck_assert_uint_eq(st.completed, st.submitted);
        ck_assert_uint_eq(st.cancelled, 0);
        ck_assert_uint_eq(st.queue_len, 0);
        ck_assert_uint_eq(st.workers, workers);
        ck_assert_int_eq(tp_pool_shutdown(p, TP_SHUTDOWN_FINISH), 0);
        tp_pool_destroy(p);
    }
    free(sl);
    free(fs);
    free(gfs);
}
END_TEST

/*
 * Destroying a pool while its workers are being woken.  tp_pool_destroy
 * posts one wake-up for each worker asleep that none is on its way to
 * (wake_all); a woken worker takes itself off both counts.  When it did
 * so in two steps, a destroy that looked in between posted one too few,
 * and the last sleeper was never woken: destroy waited for ever (once in
 * CI, under ASan).  Each round submits a burst of tasks, which wakes the
 * sleeping workers, and destroys the pool at once; a hang fails the test
 * by Check's timeout.  Every task still runs (destroy finishes the
 * queue).
 */
START_TEST(destroy_while_workers_wake_joins_them_all)
{
    int rounds = tests_slow() ? 100 : 400;

    for (int round = 0; round < rounds; round++) {
        struct tp_options opt = TP_OPTIONS_INIT;
        struct tp_pool *p = NULL;
        _Atomic long ran = 0;
        int tasks = 1 + round % 8;

        opt.workers = 8;
        ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
        /* Every other round, let the workers poll out and fall asleep. */
        if (round % 2 == 1)
            sleep_ms(1);
        for (int i = 0; i < tasks; i++)
            ck_assert_int_eq(tp_submit(p, count_task, (void *)&ran, NULL),
                             0);
        tp_pool_destroy(p);
        ck_assert_int_eq(atomic_load(&ran), tasks);
    }
}
END_TEST

START_TEST(map_runs_every_item_and_reports_the_lowest_failure)
{
    enum { N = 1000 };
    const size_t chunks[] = { 0, 1, 3, 100, 101, N };
    struct tp_pool *p = make_pool(2);
    long in[N], out[N];
    size_t c, i, bad;

    for (i = 0; i < N; i++)
        in[i] = (long)i;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        /* ERANGE at 500 may well run before EDOM at 123 does: the lowest
         * index still wins.  As Python's map, every item runs, the ones
         * after a failure too. */
        struct map_ctx ctx = { 0, 123, 500 };

        memset(out, 0, sizeof(out));
        ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, N,
                                LONGS(in, out, chunks[c]), &bad), EDOM);
        ck_assert_uint_eq(bad, 123);
        ck_assert_int_eq(atomic_load(&ctx.calls), N);
        for (i = 0; i < N; i++)
            if (i != 123 && i != 500)
                ck_assert_int_eq(out[i], 4 * (long)i);
    }
    tp_pool_destroy(p);
}
END_TEST

/*
 * Item `low` fails only after item `high` has failed, so the failure that
 * happens first in time is the higher one.  A chunk size that puts both in
 * one chunk would have one thread wait for itself: the test uses chunk
 * sizes that keep them apart.
 */
struct late_failure {
    size_t low, high;
    _Atomic long calls;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool high_failed;           /* lock */
};

static int fail_low_after_high(void *arg, size_t i, const void *in,
                               void *out)
{
    struct late_failure *lf = arg;

    (void)in;
    atomic_fetch_add(&lf->calls, 1);
    *(size_t *)out = i;
    if (i == lf->high) {
        pthread_mutex_lock(&lf->lock);
        lf->high_failed = true;
        pthread_cond_broadcast(&lf->cv);
        pthread_mutex_unlock(&lf->lock);
        return ERANGE;
    }
    if (i == lf->low) {
        pthread_mutex_lock(&lf->lock);
        while (!lf->high_failed)
            pthread_cond_wait(&lf->cv, &lf->lock);
        pthread_mutex_unlock(&lf->lock);
        return EDOM;
    }
    return 0;
}

START_TEST(map_reports_the_lowest_failure_whatever_fails_first)
{
    enum { N = 200 };
    const size_t chunks[] = { 0, 1, 7, 40 };
    struct tp_pool *p = make_pool(2);
    size_t out[N];
    size_t c, i, bad;

    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        struct late_failure lf = { .low = 30, .high = 170 };

        pthread_mutex_init(&lf.lock, NULL);
        pthread_cond_init(&lf.cv, NULL);
        memset(out, 0xff, sizeof(out));
        bad = 0;
        ck_assert_int_eq(tp_map(p, fail_low_after_high, &lf, N,
                                &(struct tp_map_options){
                                    .out = out, .out_size = sizeof(*out),
                                    .chunk_size = chunks[c] },
                                &bad),
                         EDOM);
        ck_assert_uint_eq(bad, 30);
        ck_assert_int_eq(atomic_load(&lf.calls), N);
        for (i = 0; i < N; i++)
            ck_assert_uint_eq(out[i], i);
        pthread_cond_destroy(&lf.cv);
        pthread_mutex_destroy(&lf.lock);
    }
    /* No failure: TP_NO_INDEX, on a map of nothing too. */
    ck_assert_int_eq(tp_map(p, fail_low_after_high,
                            &(struct late_failure){ .low = N, .high = N }, N,
                            &(struct tp_map_options){
                                .out = out, .out_size = sizeof(*out) },
                            &bad), 0);
    ck_assert_uint_eq(bad, TP_NO_INDEX);
    bad = 0;
    ck_assert_int_eq(tp_map(p, fail_low_after_high, NULL, 0, NULL, &bad), 0);
    ck_assert_uint_eq(bad, TP_NO_INDEX);
    tp_pool_destroy(p);
}
END_TEST

START_TEST(map_rejects_bad_arguments)
{
    struct tp_pool *p = make_pool(1);
    struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };
    long v = 1, out = 0;
    size_t bad = 0;

    ck_assert_int_eq(tp_map(NULL, triple_plus_index, &ctx, 1,
                            LONGS(&v, &out, 0), &bad), EINVAL);
    ck_assert_uint_eq(bad, TP_NO_INDEX);
    ck_assert_int_eq(tp_map(p, NULL, &ctx, 1, LONGS(&v, &out, 0), &bad),
                     EINVAL);
    ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, 1, LONGS(NULL, &out, 0),
                            &bad), EINVAL);
    ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, 1, LONGS(&v, NULL, 0),
                            &bad), EINVAL);
    /* Nothing to do is no error. */
    ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, 0, LONGS(NULL, NULL, 0),
                            &bad), 0);
    ck_assert_uint_eq(bad, TP_NO_INDEX);
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
    tp_pool_destroy(p);
}
END_TEST

struct nested_map {
    struct tp_pool *pool;
    long in[100], out[100];
    int rc;
};

static int map_in_a_task(void *arg, void **result)
{
    struct nested_map *nm = arg;
    struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };

    (void)result;
    nm->rc = tp_map(nm->pool, triple_plus_index, &ctx, 100,
                    LONGS(nm->in, nm->out, 1), NULL);
    return 0;
}

START_TEST(map_from_a_task_of_a_one_worker_pool_finishes)
{
    struct tp_pool *p = make_pool(1);
    struct nested_map nm = { .pool = p };
    struct tp_future *f;
    size_t i;

    for (i = 0; i < 100; i++)
        nm.in[i] = (long)i;
    /* The only worker runs the map: it must not wait for a free worker. */
    ck_assert_int_eq(tp_submit(p, map_in_a_task, &nm, &f), 0);
    ck_assert_int_eq(tp_future_get(f, NULL), 0);
    ck_assert_int_eq(nm.rc, 0);
    for (i = 0; i < 100; i++)
        ck_assert_int_eq(nm.out[i], 4 * (long)i);
    tp_future_free(f);
    tp_pool_destroy(p);
}
END_TEST

START_TEST(map_returns_holding_no_queue_slot)
{
    enum { N = 16 };
    struct tp_options opt = TP_OPTIONS_INIT;
    struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };
    long in[N], out[N];
    _Atomic long count = 0;
    struct tp_future *busy;
    struct tp_stats st;
    struct tp_pool *p;
    struct gate g;
    size_t i, bad;

    for (i = 0; i < N; i++)
        in[i] = (long)i;
    opt.workers = 1;
    opt.queue_limit = 1;
    ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &busy), 0);
    gate_await(&g, 1);
    /* The only worker is busy and the queue is empty: the caller does
     * every item, and the queue must be as empty afterwards. */
    ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, N, LONGS(in, out, 1),
                            &bad), 0);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.queue_len, 0);
    ck_assert_int_eq(tp_try_submit(p, count_task, &count, NULL), 0);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.queue_len, 1);
    gate_open(&g);
    ck_assert_int_eq(tp_future_get(busy, NULL), 0);
    tp_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&count), 1);
    for (i = 0; i < N; i++)
        ck_assert_int_eq(out[i], 4 * (long)i);
    tp_future_free(busy);
    gate_release(&g);
}
END_TEST

/* ---- Shutdown -------------------------------------------------------- */

enum { PENDING = 10 };

/* One gated task running, PENDING counting tasks queued behind it. */
struct backlog {
    struct tp_pool *pool;
    struct gate gate;
    struct tp_future *running;
    struct tp_future *queued[PENDING];
    struct cb_probe probes[PENDING];
    _Atomic long ran;
};

static void backlog_fill(struct backlog *b)
{
    int i;

    b->pool = make_pool(1);
    gate_init(&b->gate);
    atomic_init(&b->ran, 0);
    ck_assert_int_eq(tp_submit(b->pool, gated_task, &b->gate, &b->running),
                     0);
    gate_await(&b->gate, 1);
    for (i = 0; i < PENDING; i++) {
        memset(&b->probes[i], 0, sizeof(b->probes[i]));
        ck_assert_int_eq(tp_submit(b->pool, count_task, &b->ran,
                                   &b->queued[i]), 0);
        ck_assert_int_eq(tp_future_on_done(b->queued[i], probe_cb,
                                           &b->probes[i]), 0);
    }
}

static void backlog_release(struct backlog *b)
{
    int i;

    tp_future_free(b->running);
    for (i = 0; i < PENDING; i++)
        tp_future_free(b->queued[i]);
    gate_release(&b->gate);
}

START_TEST(shutdown_finish_runs_the_queued_tasks)
{
    struct backlog b;
    struct tp_stats st;
    int i;

    backlog_fill(&b);
    ck_assert_int_eq(tp_pool_shutdown(b.pool, TP_SHUTDOWN_FINISH), 0);
    ck_assert_int_eq(tp_pool_shutdown(b.pool, TP_SHUTDOWN_FINISH),
                     ESHUTDOWN);
    gate_open(&b.gate);
    for (i = 0; i < PENDING; i++)
        ck_assert_int_eq(tp_future_get(b.queued[i], NULL), 0);
    ck_assert_int_eq(tp_future_get(b.running, NULL), 0);
    tp_pool_destroy(b.pool);
    ck_assert_int_eq(atomic_load(&b.ran), PENDING);
    for (i = 0; i < PENDING; i++)
        ck_assert_int_eq(b.probes[i].status, 0);
    (void)st;
    backlog_release(&b);
}
END_TEST

START_TEST(shutdown_cancel_ends_queued_futures_with_ecanceled)
{
    struct backlog b;
    struct tp_stats st;
    int i;

    backlog_fill(&b);
    ck_assert_int_eq(tp_pool_shutdown(b.pool, TP_SHUTDOWN_CANCEL), 0);
    /* Cancelled here, callbacks in this thread, before shutdown returns. */
    for (i = 0; i < PENDING; i++) {
        ck_assert(tp_future_done(b.queued[i]));
        ck_assert_int_eq(tp_future_get(b.queued[i], NULL), ECANCELED);
        ck_assert_int_eq(atomic_load(&b.probes[i].calls), 1);
        ck_assert_int_eq(b.probes[i].status, ECANCELED);
        ck_assert(pthread_equal(b.probes[i].cb_thread, pthread_self()));
    }
    /* The running task is not touched. */
    ck_assert(!tp_future_done(b.running));
    gate_open(&b.gate);
    ck_assert_int_eq(tp_future_get(b.running, NULL), 0);
    ck_assert_int_eq(tp_pool_stats(b.pool, &st), 0);
    ck_assert_uint_eq(st.cancelled, PENDING);
    tp_pool_destroy(b.pool);
    ck_assert_int_eq(atomic_load(&b.ran), 0);
    backlog_release(&b);
}
END_TEST

START_TEST(shutdown_rejects_a_bad_mode)
{
    struct tp_pool *p = make_pool(1);

    ck_assert_int_eq(tp_pool_shutdown(p, (enum tp_shutdown)7), EINVAL);
    ck_assert_int_eq(tp_pool_shutdown(NULL, TP_SHUTDOWN_FINISH), EINVAL);
    tp_pool_destroy(p);
}
END_TEST

START_TEST(submit_after_shutdown_fails)
{
    struct tp_pool *p = make_pool(2);
    struct tp_future *f = (struct tp_future *)p;
    struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };
    long v = 1, out;

    ck_assert_int_eq(tp_pool_shutdown(p, TP_SHUTDOWN_FINISH), 0);
    ck_assert_int_eq(tp_submit(p, count_task, &ctx.calls, &f), ESHUTDOWN);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(tp_try_submit(p, count_task, &ctx.calls, NULL),
                     ESHUTDOWN);
    ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, 1, LONGS(&v, &out, 0),
                            NULL), ESHUTDOWN);
    tp_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
}
END_TEST

struct slow_arg {
    _Atomic long done;
};

static int slow_task(void *arg, void **result)
{
    (void)result;
    sleep_ms(5);
    atomic_fetch_add(&((struct slow_arg *)arg)->done, 1);
    return 0;
}

START_TEST(destroy_waits_for_every_task)
{
    struct tp_pool *p = make_pool(2);
    struct slow_arg a = { 0 };
    int i;

    for (i = 0; i < 20; i++)
        ck_assert_int_eq(tp_submit(p, slow_task, &a, NULL), 0);
    tp_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&a.done), 20);
}
END_TEST

/* ---- Tasks that submit tasks ----------------------------------------- */

struct chain {
    struct tp_pool *pool;
    _Atomic long links;
    long depth;
    struct gate done;
};

static int chain_task(void *arg, void **result)
{
    struct chain *c = arg;

    (void)result;
    if (atomic_fetch_add(&c->links, 1) + 1 < c->depth)
        ck_assert_int_eq(tp_submit(c->pool, chain_task, c, NULL), 0);
    else
        gate_open(&c->done);
    return 0;
}

START_TEST(task_submits_a_task_to_its_own_pool)
{
    struct chain c = { .depth = 1000 };

    c.pool = make_pool(1);
    gate_init(&c.done);
    atomic_init(&c.links, 0);
    ck_assert_int_eq(tp_submit(c.pool, chain_task, &c, NULL), 0);
    gate_pass(&c.done);
    tp_pool_destroy(c.pool);
    ck_assert_int_eq(atomic_load(&c.links), 1000);
    gate_release(&c.done);
}
END_TEST

/* A task that waits for a task it submitted (needs a second worker). */
static int parent_task(void *arg, void **result)
{
    struct tp_pool *p = arg;
    struct tp_future *child;
    int zero = 0, rc;

    if ((rc = tp_submit(p, status_task, &zero, &child)) != 0)
        return rc;
    rc = tp_future_get(child, result);
    tp_future_free(child);
    return rc;
}

START_TEST(task_waits_for_a_task_it_submitted)
{
    struct tp_pool *p = make_pool(2);
    struct tp_future *f;

    ck_assert_int_eq(tp_submit(p, parent_task, p, &f), 0);
    ck_assert_int_eq(tp_future_get(f, NULL), 0);
    tp_future_free(f);
    tp_pool_destroy(p);
}
END_TEST

/* Resubmits itself until the pool refuses. */
struct forever {
    struct tp_pool *pool;
    _Atomic long runs;
    _Atomic long refused;
};

static int forever_task(void *arg, void **result)
{
    struct forever *fv = arg;
    struct tp_future *f = NULL;
    int rc;

    (void)result;
    atomic_fetch_add(&fv->runs, 1);
    rc = tp_submit(fv->pool, forever_task, fv, &f);
    if (rc == 0)
        tp_future_free(f);
    else if (rc == ESHUTDOWN)
        atomic_fetch_add(&fv->refused, 1);
    else
        ck_abort_msg("submit from a task: %d", rc);
    return 0;
}

static void run_forever_then(enum tp_shutdown how, bool destroy_only)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct forever fv = { 0 };
    int i;

    opt.workers = 2;
    opt.queue_limit = 8;      /* bounded, though 4 chains hold 4 tasks */
    ck_assert_int_eq(tp_pool_create(&opt, &fv.pool), 0);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(tp_submit(fv.pool, forever_task, &fv, NULL), 0);
    while (atomic_load(&fv.runs) < 1000)
        sleep_ms(1);
    if (!destroy_only)
        ck_assert_int_eq(tp_pool_shutdown(fv.pool, how), 0);
    tp_pool_destroy(fv.pool);
    /* Every chain ended on a refusal (FINISH) or a cancel (CANCEL). */
    ck_assert_int_le(atomic_load(&fv.refused), 4);
    if (how == TP_SHUTDOWN_FINISH)
        ck_assert_int_eq(atomic_load(&fv.refused), 4);
}

START_TEST(destroy_while_tasks_submit_does_not_hang)
{
    run_forever_then(TP_SHUTDOWN_FINISH, true);
}
END_TEST

START_TEST(shutdown_cancel_while_tasks_submit_does_not_hang)
{
    run_forever_then(TP_SHUTDOWN_CANCEL, false);
}
END_TEST

/* ---- Dynamic pool ---------------------------------------------------- */

static bool wait_for_workers(struct tp_pool *p, unsigned n)
{
    struct tp_stats st;

    for (;;) {
        ck_assert_int_eq(tp_pool_stats(p, &st), 0);
        if (st.workers == n)
            return true;
        sleep_ms(2);
    }
}

START_TEST(dynamic_pool_grows_to_max_and_retires_idle_workers)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_future *fs[6];
    struct tp_pool *p;
    struct tp_stats st;
    struct gate g;
    int i;

    opt.workers = 1;
    opt.max_workers = 4;
    opt.idle_timeout_s = 0.05;
    ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers, 1);
    ck_assert_uint_eq(st.workers_max, 4);

    /* Four tasks that all wait at the gate at the same time: only four
     * workers can hold them, so the pool must have grown to its maximum. */
    gate_init(&g);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(tp_submit(p, gated_task, &g, &fs[i]), 0);
    gate_await(&g, 4);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers, 4);
    ck_assert_uint_eq(st.workers_peak, 4);
    ck_assert_uint_eq(st.queue_len, 2);      /* and no fifth worker */
    gate_open(&g);
    ck_assert_int_eq(tp_wait_all(fs, 6, TP_WAIT_FOREVER), 0);

    /* Idle for 0.05 s, the three extra workers retire; one stays. */
    wait_for_workers(p, 1);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers_peak, 4);
    ck_assert_uint_eq(st.completed, 6);

    /* And it grows again, reusing the retired workers' slots. */
    g.open = false;
    g.arrived = 0;
    for (i = 0; i < 4; i++) {
        tp_future_free(fs[i]);
        ck_assert_int_eq(tp_submit(p, gated_task, &g, &fs[i]), 0);
    }
    gate_await(&g, 4);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers, 4);
    gate_open(&g);
    tp_pool_destroy(p);
    for (i = 0; i < 6; i++)
        tp_future_free(fs[i]);
    gate_release(&g);
}
END_TEST

/*
 * One task at a time never needs a second worker: the first is free every
 * time a task is queued, even while it is still starting.  Fresh pools,
 * because a worker that has not yet reached the queue is the case that
 * used to count as busy.  tp_map's helpers follow the same rule.
 */
START_TEST(dynamic_pool_does_not_grow_without_load)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };
    int pools = tests_slow() ? 10 : 50;
    long in[8] = { 0 }, out[8];
    struct tp_stats st;
    int k, i, zero = 0;

    opt.workers = 1;
    opt.max_workers = 4;
    for (k = 0; k < pools; k++) {
        struct tp_pool *p;

        ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
        for (i = 0; i < 20; i++) {
            struct tp_future *f;

            ck_assert_int_eq(tp_submit(p, status_task, &zero, &f), 0);
            ck_assert_int_eq(tp_future_get(f, NULL), 0);
            tp_future_free(f);
            if (i % 4 == 3)
                ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, 8,
                                        LONGS(in, out, 1), NULL), 0);
        }
        ck_assert_int_eq(tp_pool_stats(p, &st), 0);
        ck_assert_uint_eq(st.workers_peak, 1);
        tp_pool_destroy(p);
    }
}
END_TEST

/*
 * As Python's ThreadPoolExecutor: no worker until the first task, and
 * none again once they have all been idle for idle_timeout_s.
 */
START_TEST(dynamic_pool_may_start_with_no_worker)
{
    enum { N = 100 };
    struct tp_options opt = TP_OPTIONS_INIT;
    struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };
    long in[N], out[N];
    struct tp_future *f;
    struct tp_stats st;
    struct tp_pool *p = NULL;
    int zero = 0;
    size_t i;

    opt.workers = TP_NO_WORKERS;
    ck_assert_int_eq(tp_pool_create(&opt, &p), EINVAL);  /* none at all */
    ck_assert_ptr_null(p);
    opt.max_workers = 2;
    opt.idle_timeout_s = 0.05;
    ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers, 0);
    ck_assert_uint_eq(st.workers_max, 2);
    ck_assert_int_eq(tp_submit(p, status_task, &zero, &f), 0);
    ck_assert_int_eq(tp_future_get(f, NULL), 0);
    tp_future_free(f);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers_peak, 1);
    wait_for_workers(p, 0);
    for (i = 0; i < N; i++)
        in[i] = (long)i;
    ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, N, LONGS(in, out, 0),
                            NULL), 0);
    for (i = 0; i < N; i++)
        ck_assert_int_eq(out[i], 4 * (long)i);
    ck_assert_int_eq(tp_submit(p, status_task, &zero, &f), 0);
    ck_assert_int_eq(tp_future_get(f, NULL), 0);
    tp_future_free(f);
    tp_pool_destroy(p);
}
END_TEST

START_TEST(fixed_pool_does_not_grow)
{
    struct tp_pool *p = make_pool(2);
    struct tp_future *fs[5];
    struct tp_stats st;
    struct gate g;
    int i;

    gate_init(&g);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(tp_submit(p, gated_task, &g, &fs[i]), 0);
    gate_await(&g, 2);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers, 2);
    ck_assert_uint_eq(st.workers_peak, 2);
    ck_assert_uint_eq(st.queue_len, 3);
    ck_assert_uint_ge(st.queue_peak, 3);
    ck_assert_uint_le(st.queue_peak, 5);
    gate_open(&g);
    tp_pool_destroy(p);
    for (i = 0; i < 5; i++)
        tp_future_free(fs[i]);
    gate_release(&g);
}
END_TEST

/* ---- Bounded queue --------------------------------------------------- */

struct blocked_submit {
    struct tp_pool *pool;
    _Atomic long *counter;
    _Atomic int returned;
    int rc;
};

static void *submit_thread(void *arg)
{
    struct blocked_submit *bs = arg;

    bs->rc = tp_submit(bs->pool, count_task, bs->counter, NULL);
    atomic_store(&bs->returned, 1);
    return NULL;
}

static struct tp_pool *full_bounded_pool(struct gate *g, _Atomic long *count)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *p;

    opt.workers = 1;
    opt.queue_limit = 2;
    ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
    ck_assert_int_eq(tp_submit(p, gated_task, g, NULL), 0);
    gate_await(g, 1);
    ck_assert_int_eq(tp_submit(p, count_task, count, NULL), 0);
    ck_assert_int_eq(tp_try_submit(p, count_task, count, NULL), 0);
    return p;
}

START_TEST(bounded_queue_blocks_submit_and_refuses_try_submit)
{
    _Atomic long count = 0;
    struct blocked_submit bs = { .counter = &count };
    struct tp_future *f = (struct tp_future *)&bs;
    struct tp_stats st;
    struct gate g;
    pthread_t t;

    gate_init(&g);
    bs.pool = full_bounded_pool(&g, &count);
    ck_assert_int_eq(tp_try_submit(bs.pool, count_task, &count, &f), EAGAIN);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(pthread_create(&t, NULL, submit_thread, &bs), 0);
    /* The queue stays full while the gate is shut, so the submit cannot
     * return; we look a few times to give it every chance to be wrong. */
    for (int i = 0; i < 20; i++) {
        sleep_ms(1);
        ck_assert_int_eq(atomic_load(&bs.returned), 0);
    }
    gate_open(&g);
    pthread_join(t, NULL);
    ck_assert_int_eq(bs.rc, 0);
    tp_pool_destroy(bs.pool);
    ck_assert_int_eq(atomic_load(&count), 3);
    (void)st;
    gate_release(&g);
}
END_TEST

START_TEST(blocked_submit_fails_when_the_pool_shuts_down)
{
    _Atomic long count = 0;
    struct blocked_submit bs = { .counter = &count };
    struct gate g;
    pthread_t t;

    gate_init(&g);
    bs.pool = full_bounded_pool(&g, &count);
    ck_assert_int_eq(pthread_create(&t, NULL, submit_thread, &bs), 0);
    sleep_ms(10);
    ck_assert_int_eq(tp_pool_shutdown(bs.pool, TP_SHUTDOWN_FINISH), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(bs.rc, ESHUTDOWN);
    gate_open(&g);
    tp_pool_destroy(bs.pool);
    ck_assert_int_eq(atomic_load(&count), 2);
    gate_release(&g);
}
END_TEST

/* ---- Counters -------------------------------------------------------- */

START_TEST(stats_count_tasks_queue_peak_and_busy_time)
{
    struct tp_pool *p = make_pool(2);
    struct slow_arg a = { 0 };
    uint64_t busy[3] = { 0, 0, 7 };
    struct tp_future *f;
    struct tp_stats st;
    size_t slots = 0;
    int i;

    for (i = 0; i < 8; i++)
        ck_assert_int_eq(tp_submit(p, slow_task, &a, NULL), 0);
    ck_assert_int_eq(tp_submit(p, slow_task, &a, &f), 0);
    ck_assert_int_eq(tp_future_cancel(f), 0);
    ck_assert_int_eq(tp_pool_shutdown(p, TP_SHUTDOWN_FINISH), 0);
    /* Wait for the queue to drain: both workers go idle. */
    for (;;) {
        ck_assert_int_eq(tp_pool_stats(p, &st), 0);
        if (st.completed + st.cancelled == 9)
            break;
        sleep_ms(2);
    }
    ck_assert_uint_eq(st.submitted, 9);
    ck_assert_uint_eq(st.completed, 8);
    ck_assert_uint_eq(st.cancelled, 1);
    ck_assert_uint_ge(st.queue_peak, 1);
    ck_assert_uint_le(st.queue_peak, 9);
    ck_assert_uint_eq(st.workers_peak, 2);
    ck_assert_int_eq(tp_pool_busy(p, busy, 3, &slots), 0);
    ck_assert_uint_eq(slots, 2);
    ck_assert_uint_eq(busy[2], 7);            /* only `slots` are written */
    /* Eight tasks that each sleep at least 5 ms. */
    ck_assert_uint_ge(busy[0] + busy[1], 8 * 5000000ull);
    ck_assert_int_eq(tp_pool_busy(p, NULL, 1, &slots), EINVAL);
    ck_assert_int_eq(tp_pool_stats(p, NULL), EINVAL);
    tp_pool_destroy(p);
    tp_future_free(f);
}
END_TEST

/*
 * Once a call has handed back a task's outcome (tp_future_get, a
 * successful tp_future_cancel, tp_map), the counters count that task.
 */
START_TEST(stats_count_a_task_once_its_outcome_is_returned)
{
    struct map_ctx ctx = { 0, SIZE_MAX, SIZE_MAX };
    struct tp_pool *p = make_pool(1);
    struct tp_future *f, *busy;
    long in[8] = { 0 }, out[8];
    _Atomic long count = 0;
    struct tp_stats st, before;
    struct gate g;
    int i, zero = 0;

    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(tp_submit(p, status_task, &zero, &f), 0);
        ck_assert_int_eq(tp_future_get(f, NULL), 0);
        tp_future_free(f);
        ck_assert_int_eq(tp_pool_stats(p, &st), 0);
        ck_assert_uint_eq(st.completed, st.submitted);
        ck_assert_uint_eq(st.queue_len, 0);
    }
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(tp_map(p, triple_plus_index, &ctx, 8,
                                LONGS(in, out, 1), NULL), 0);
        ck_assert_int_eq(tp_pool_stats(p, &st), 0);
        ck_assert_uint_eq(st.queue_len, 0);
        ck_assert_uint_eq(st.completed + st.cancelled, st.submitted);
    }
    gate_init(&g);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &busy), 0);
    gate_await(&g, 1);
    ck_assert_int_eq(tp_submit(p, count_task, &count, &f), 0);
    ck_assert_int_eq(tp_pool_stats(p, &before), 0);
    ck_assert_int_eq(tp_future_cancel(f), 0);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.cancelled, before.cancelled + 1);
    gate_open(&g);
    ck_assert_int_eq(tp_future_get(busy, NULL), 0);
    tp_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&count), 0);
    tp_future_free(f);
    tp_future_free(busy);
    gate_release(&g);
}
END_TEST

START_TEST(two_pools_know_nothing_of_each_other)
{
    struct tp_pool *a = make_pool(1), *b = make_pool(1);
    _Atomic long count = 0;
    struct tp_stats st;

    ck_assert_int_eq(tp_pool_shutdown(a, TP_SHUTDOWN_CANCEL), 0);
    ck_assert_int_eq(tp_submit(a, count_task, &count, NULL), ESHUTDOWN);
    ck_assert_int_eq(tp_submit(b, count_task, &count, NULL), 0);
    tp_pool_destroy(b);
    ck_assert_int_eq(tp_pool_stats(a, &st), 0);
    ck_assert_uint_eq(st.submitted, 0);
    tp_pool_destroy(a);
    ck_assert_int_eq(atomic_load(&count), 1);
}
END_TEST

/* ---- Stress ---------------------------------------------------------- */

/*
 * A million tasks from four submitting threads, an exact count at the end.
 * Under valgrind and ThreadSanitizer (POOLBENCH_SLOW=1) it is a tenth of
 * that: they run the code 20 to 50 times slower, and 100 000 tasks still
 * race four submitters against the workers.
 */
struct stress {
    struct tp_pool *pool;
    _Atomic long count;
    long per_thread;
    _Atomic long statuses;
};

static void *stress_submitter(void *arg)
{
    struct stress *s = arg;
    struct tp_future *fs[64];
    long i;
    int k = 0;

    for (i = 0; i < s->per_thread; i++) {
        /* Every other task carries a future, waited for in batches. */
        if (i % 2 == 0) {
            ck_assert_int_eq(tp_submit(s->pool, count_task, &s->count,
                                       NULL), 0);
            continue;
        }
        ck_assert_int_eq(tp_submit(s->pool, count_task, &s->count,
                                   &fs[k++]), 0);
        if (k == 64 || i == s->per_thread - 1) {
            while (k > 0) {
                k--;
                atomic_fetch_add(&s->statuses,
                                 tp_future_get(fs[k], NULL) == 0);
                tp_future_free(fs[k]);
            }
        }
    }
    return NULL;
}

START_TEST(stress_a_million_tasks_from_four_threads)
{
    struct stress s = { 0 };
    struct tp_stats st;
    pthread_t t[4];
    long total = tests_slow() ? 100000 : 1000000;
    int i;

    s.pool = make_pool(0);
    s.per_thread = total / 4;
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, stress_submitter, &s),
                         0);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(tp_pool_shutdown(s.pool, TP_SHUTDOWN_FINISH), 0);
    tp_pool_destroy(s.pool);
    ck_assert_int_eq(atomic_load(&s.count), total);
    ck_assert_int_eq(atomic_load(&s.statuses), total / 2);
    (void)st;
}
END_TEST

/* ---- Suite ----------------------------------------------------------- */

static Suite *threadpool_suite(void)
{
    Suite *s = suite_create("threadpool");
    TCase *basic = tcase_create("basic");
    TCase *dynamic = tcase_create("dynamic");
    TCase *slow = tcase_create("slow");

    tcase_set_timeout(basic, 10);
    tcase_add_test(basic, create_with_zero_workers_uses_every_cpu);
    tcase_add_test(basic, cpu_count_is_the_affinity_mask);
    tcase_add_test(basic, create_rejects_bad_idle_timeout);
    tcase_add_test(basic, destroy_and_free_accept_null);
    tcase_add_test(basic, submit_returns_result_and_status);
    tcase_add_test(basic, submit_rejects_null_arguments);
    tcase_add_test(basic, submit_without_future_runs_the_task);
    tcase_add_test(basic, future_wait_times_out_and_task_carries_on);
    tcase_add_test(basic, future_wait_with_timeout_sees_completion);
    tcase_add_test(basic, future_outlives_its_pool);
    tcase_add_test(basic, free_while_task_runs_is_safe);
    tcase_add_test(basic, recycled_futures_start_clean);
    tcase_add_test(basic, futures_freed_while_the_pool_is_destroyed);
    tcase_add_test(basic, cancel_stops_a_task_that_has_not_started);
    tcase_add_test(basic, callback_runs_in_the_worker_when_the_task_finishes);
    tcase_add_test(basic,
                   callback_on_a_done_future_runs_at_once_in_the_caller);
    tcase_add_test(basic, callback_only_one_per_future);
    tcase_add_test(basic, callback_on_cancel_runs_in_the_cancelling_thread);
    tcase_add_test(basic, callback_may_submit_and_free_its_future);
    tcase_add_test(basic, wait_any_returns_the_future_that_finished);
    tcase_add_test(basic, wait_any_and_all_reject_bad_arguments);
    tcase_add_test(basic, wait_all_times_out_while_one_runs);
    tcase_add_test(basic, only_wait_forever_may_be_negative);
    tcase_add_test(basic, map_preserves_order_for_every_chunk_size);
    tcase_add_test(basic, map_runs_every_item_and_reports_the_lowest_failure);
    tcase_add_test(basic, map_reports_the_lowest_failure_whatever_fails_first);
    tcase_add_test(basic, map_rejects_bad_arguments);
    tcase_add_test(basic, map_from_a_task_of_a_one_worker_pool_finishes);
    tcase_add_test(basic, map_returns_holding_no_queue_slot);
    tcase_add_test(basic, shutdown_finish_runs_the_queued_tasks);
    tcase_add_test(basic, shutdown_cancel_ends_queued_futures_with_ecanceled);
    tcase_add_test(basic, shutdown_rejects_a_bad_mode);
    tcase_add_test(basic, submit_after_shutdown_fails);
    tcase_add_test(basic, destroy_waits_for_every_task);
    tcase_add_test(basic, task_submits_a_task_to_its_own_pool);
    tcase_add_test(basic, task_waits_for_a_task_it_submitted);
    tcase_add_test(basic, fixed_pool_does_not_grow);
    tcase_add_test(basic, bounded_queue_blocks_submit_and_refuses_try_submit);
    tcase_add_test(basic, blocked_submit_fails_when_the_pool_shuts_down);
    tcase_add_test(basic, stats_count_tasks_queue_peak_and_busy_time);
    tcase_add_test(basic, stats_count_a_task_once_its_outcome_is_returned);
    tcase_add_test(basic, two_pools_know_nothing_of_each_other);
    tcase_add_test(basic, each_trick_switched_off_keeps_every_behaviour);
    tcase_add_test(basic,
                   waking_many_workers_with_or_without_cascade_loses_nothing);
    tcase_add_test(basic, destroy_while_workers_wake_joins_them_all);
    suite_add_tcase(s, basic);

    tcase_set_timeout(dynamic, 60);
    tcase_add_test(dynamic,
                   dynamic_pool_grows_to_max_and_retires_idle_workers);
    tcase_add_test(dynamic, dynamic_pool_does_not_grow_without_load);
    tcase_add_test(dynamic, dynamic_pool_may_start_with_no_worker);
    suite_add_tcase(s, dynamic);

    tcase_set_timeout(slow, 60);
    tcase_add_test(slow, destroy_while_tasks_submit_does_not_hang);
    tcase_add_test(slow, shutdown_cancel_while_tasks_submit_does_not_hang);
    tcase_add_test(slow, stress_a_million_tasks_from_four_threads);
    suite_add_tcase(s, slow);
    return s;
}

int main(void)
{
    return tests_run(threadpool_suite());
}

/*
 * test_faults_tp.c - the thread pool's clean-up paths, by fault injection.
 *
 * Linked with faultinject.c (see faultinject.h), so that any call of
 * malloc, pthread_create and the like can be made to fail.  First, checks
 * of the injector itself; then, for each pool call that can fail, the
 * number of calls it makes is counted and each one is failed in turn.
 *
 * _GNU_SOURCE: gettid, to know when a joined thread has left /proc.
 */
#define _GNU_SOURCE
#include "faultinject.h"
#include "support.h"
#include "threadpool.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- The injector ---------------------------------------------------- */

static void *no_op(void *arg)
{
    return arg;
}

START_TEST(injector_fails_exactly_the_armed_call)
{
    void *a, *b, *c;
    long before = fi_count(FI_MALLOC);
    int err;

    fi_arm(FI_MALLOC, 1, ENOMEM);
    a = malloc(16);
    errno = 0;
    b = malloc(16);
    err = errno;
    c = malloc(16);
    fi_disarm();
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(err, ENOMEM);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_ge(fi_count(FI_MALLOC) - before, 3);
    ck_assert_int_eq(fi_fired(FI_MALLOC), 1);
    free(a);
    free(c);
}
END_TEST

START_TEST(injector_arm_from_fails_until_disarmed)
{
    pthread_t t;

    fi_arm_from(FI_PTHREAD_CREATE, 0, EAGAIN);
    ck_assert_int_eq(pthread_create(&t, NULL, no_op, NULL), EAGAIN);
    ck_assert_int_eq(pthread_create(&t, NULL, no_op, NULL), EAGAIN);
    fi_disarm();
    ck_assert_int_eq(pthread_create(&t, NULL, no_op, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(fi_fired(FI_PTHREAD_CREATE), 2);
    fi_reset();
    ck_assert_int_eq(fi_count(FI_PTHREAD_CREATE), 0);
    ck_assert_int_eq(fi_fired(FI_PTHREAD_CREATE), 0);
    ck_assert_str_eq(fi_name(FI_PTHREAD_CREATE), "pthread_create");
}
END_TEST

START_TEST(injector_reaches_the_library)
{
    struct tp_pool *p = NULL;
    long before = fi_count(FI_PTHREAD_CREATE);
    int rc;

    fi_arm_from(FI_PTHREAD_CREATE, 0, EAGAIN);
    rc = tp_pool_create(NULL, &p);
    fi_disarm();
    ck_assert_int_eq(rc, EAGAIN);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(fi_count(FI_PTHREAD_CREATE) - before, 1);
}
END_TEST

/* ---- Helpers --------------------------------------------------------- */

/* What the thread pool calls that can fail, and the error each fails
 * with here (what the real call returns when out of memory or threads). */
static const struct {
    enum fi_call call;
    int err;
} sites[] = {
    { FI_MALLOC, ENOMEM },
    { FI_CALLOC, ENOMEM },
    { FI_REALLOC, ENOMEM },
    { FI_ALIGNED_ALLOC, ENOMEM },
    { FI_PTHREAD_CREATE, EAGAIN },
    { FI_PTHREAD_MUTEX_INIT, ENOMEM },
    { FI_PTHREAD_COND_INIT, ENOMEM },
};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

/*
 * The threads of this process once the runtime has started its own: some
 * start with the first thread a program creates (ThreadSanitizer's
 * background thread), so we create and join one first.
 */
static void *record_tid(void *arg)
{
    *(pid_t *)arg = gettid();
    return NULL;
}

static int base_threads(void)
{
    char path[64];
    pid_t tid = 0;
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, record_tid, &tid), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    /* Joined, but maybe still listed for a moment (see await_threads). */
    snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
    while (access(path, F_OK) == 0)
        sleep_ms(1);
    return thread_count();
}

/*
 * Waits until the process has n threads.  A joined thread may still be
 * listed for a moment while the kernel finishes its exit, so we look
 * again until it is gone; one that is never joined keeps the count up and
 * Check's timeout fails the test.
 */
static void await_threads(int n)
{
    while (thread_count() != n)
        sleep_ms(1);
}

/*
 * Calls of site s that op(arg) makes, op run once without a fault.  The
 * count is taken before any ck_assert: Check's own code goes through the
 * wrappers too, and a passing assertion allocates.
 */
static long calls_made(size_t s, int (*op)(void *), void *arg)
{
    long before = fi_count(sites[s].call);
    int rc = op(arg);
    long n = fi_count(sites[s].call) - before;

    ck_assert_int_eq(rc, 0);
    return n;
}

static int zero_task(void *arg, void **result)
{
    (void)arg;
    *result = NULL;
    return 0;
}

/* Waits at the gate arg (tests/support.h) until the test opens it. */
static int gated_task(void *arg, void **result)
{
    (void)result;
    gate_pass(arg);
    return 0;
}

/* The pool still works: a task runs and its future comes back. */
static void check_usable(struct tp_pool *p)
{
    struct tp_future *f;

    ck_assert_int_eq(tp_submit(p, zero_task, NULL, &f), 0);
    ck_assert_int_eq(tp_future_get(f, NULL), 0);
    tp_future_free(f);
}

/* ---- Creating a pool ------------------------------------------------- */

static const struct tp_options *create_opt;

static int create_and_destroy(void *arg)
{
    struct tp_pool *p;
    int rc;

    (void)arg;
    if ((rc = tp_pool_create(create_opt, &p)) == 0)
        tp_pool_destroy(p);
    return rc;
}

/*
 * Every call tp_pool_create makes, failed in turn: the create returns that
 * call's error, *out is NULL, no thread is left (those already started
 * are joined) and nothing leaks (LSan, valgrind).
 */
static void create_fails_cleanly(const struct tp_options *opt)
{
    int base = base_threads();
    long total = 0;
    size_t s;

    create_opt = opt;
    for (s = 0; s < NSITES; s++) {
        long n = calls_made(s, create_and_destroy, NULL), k;

        total += n;
        for (k = 0; k < n; k++) {
            struct tp_pool *p = (struct tp_pool *)&k;
            long fired = fi_fired(sites[s].call);
            int rc;

            fi_arm(sites[s].call, k, sites[s].err);
            rc = tp_pool_create(opt, &p);
            fi_disarm();
            ck_assert_int_eq(fi_fired(sites[s].call), fired + 1);
            ck_assert_msg(rc == sites[s].err,
                          "create with call %ld of %s failing returned %d",
                          k, fi_name(sites[s].call), rc);
            ck_assert_ptr_null(p);
            await_threads(base);
        }
    }
    ck_assert_int_gt(total, 0);
}

START_TEST(create_of_a_fixed_pool_fails_cleanly_at_every_call)
{
    struct tp_options opt = TP_OPTIONS_INIT;

    opt.workers = 3;
    create_fails_cleanly(&opt);
}
END_TEST

START_TEST(create_of_a_bounded_dynamic_pool_fails_cleanly_at_every_call)
{
    struct tp_options opt = TP_OPTIONS_INIT;

    opt.workers = 2;
    opt.max_workers = 4;
    opt.queue_limit = 8;
    create_fails_cleanly(&opt);
}
END_TEST

START_TEST(create_starts_every_worker_it_promises)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    int base = base_threads();
    long before = fi_count(FI_PTHREAD_CREATE);
    struct tp_pool *p;

    opt.workers = 3;
    opt.max_workers = 5;
    ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
    ck_assert_int_eq(fi_count(FI_PTHREAD_CREATE) - before, 3);
    ck_assert_int_eq(thread_count(), base + 3);
    tp_pool_destroy(p);
    await_threads(base);
}
END_TEST

/* ---- Submitting ------------------------------------------------------ */

struct submit_case {
    struct tp_pool *pool;
    struct tp_future *f;
};

/*
 * The first submit to a fresh pool allocates its future and the queue's
 * ring (and, in a pool with no worker, starts one).  Failing each of those
 * calls: ENOMEM or EAGAIN, *out NULL, the task never runs, and the pool
 * takes the next submit as if nothing had happened.
 */
static void submit_fails_cleanly(const struct tp_options *opt)
{
    struct submit_case sc = { NULL, NULL };
    int base = base_threads();
    long total = 0;
    size_t s;

    for (s = 0; s < NSITES; s++) {
        long n, k;
        int rc;

        /* Counted on a fresh pool, without the create's own calls. */
        ck_assert_int_eq(tp_pool_create(opt, &sc.pool), 0);
        n = fi_count(sites[s].call);
        rc = tp_submit(sc.pool, zero_task, NULL, &sc.f);
        n = fi_count(sites[s].call) - n;
        ck_assert_int_eq(rc, 0);
        tp_future_get(sc.f, NULL);
        tp_future_free(sc.f);
        tp_pool_destroy(sc.pool);
        total += n;

        for (k = 0; k < n; k++) {
            struct tp_stats st;

            ck_assert_int_eq(tp_pool_create(opt, &sc.pool), 0);
            sc.f = (struct tp_future *)&sc;
            fi_arm(sites[s].call, k, sites[s].err);
            rc = tp_submit(sc.pool, zero_task, NULL, &sc.f);
            fi_disarm();
            ck_assert_msg(rc == sites[s].err,
                          "submit with call %ld of %s failing returned %d",
                          k, fi_name(sites[s].call), rc);
            ck_assert_ptr_null(sc.f);
            ck_assert_int_eq(tp_pool_stats(sc.pool, &st), 0);
            ck_assert_uint_eq(st.submitted, 0);
            ck_assert_uint_eq(st.queue_len, 0);
            check_usable(sc.pool);
            tp_pool_destroy(sc.pool);
            await_threads(base);
        }
    }
    ck_assert_int_gt(total, 0);
}

START_TEST(submit_fails_cleanly_at_every_call)
{
    struct tp_options opt = TP_OPTIONS_INIT;

    opt.workers = 1;
    submit_fails_cleanly(&opt);
}
END_TEST

START_TEST(submit_to_a_pool_with_no_worker_fails_cleanly_at_every_call)
{
    struct tp_options opt = TP_OPTIONS_INIT;

    opt.workers = TP_NO_WORKERS;
    opt.max_workers = 2;
    submit_fails_cleanly(&opt);
}
END_TEST

/*
 * An unbounded queue doubles its ring when it is full (64 tasks first):
 * if that fails, the submit fails and every task already queued stays.
 */
START_TEST(submit_that_cannot_grow_the_queue_fails_cleanly)
{
    enum { RING = 64 };     /* threadpool.c's RING_MIN */
    struct tp_pool *p;
    struct tp_future *fs[RING + 1], *f = NULL;
    struct tp_stats st;
    struct gate g;
    long n;
    int i, rc;

    gate_init(&g);
    p = NULL;
    ck_assert_int_eq(tp_pool_create(&(struct tp_options){ .workers = 1 },
                                    &p), 0);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, NULL), 0);
    gate_await(&g, 1);
    for (i = 0; i < RING; i++)
        ck_assert_int_eq(tp_submit(p, zero_task, NULL, &fs[i]), 0);
    /* The next submit must grow the ring: one malloc, made to fail. */
    n = fi_count(FI_MALLOC);
    fi_arm(FI_MALLOC, 0, ENOMEM);
    rc = tp_submit(p, zero_task, NULL, &f);
    fi_disarm();
    n = fi_count(FI_MALLOC) - n;
    ck_assert_int_eq(rc, ENOMEM);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.queue_len, RING);
    ck_assert_uint_eq(st.submitted, RING + 1);
    ck_assert_int_eq(tp_submit(p, zero_task, NULL, &fs[RING]), 0);
    gate_open(&g);
    ck_assert_int_eq(tp_wait_all(fs, RING + 1, TP_WAIT_FOREVER), 0);
    tp_pool_destroy(p);
    for (i = 0; i <= RING; i++)
        tp_future_free(fs[i]);
    gate_release(&g);
}
END_TEST

/*
 * A dynamic pool that cannot start another worker still runs the task:
 * the workers it has get to it.  The submit succeeds.
 */
START_TEST(dynamic_pool_refused_a_thread_still_runs_the_task)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_future *busy, *f;
    struct tp_stats st;
    struct tp_pool *p;
    struct gate g;
    long before;
    int rc;

    opt.workers = 1;
    opt.max_workers = 2;
    gate_init(&g);
    ck_assert_int_eq(tp_pool_create(&opt, &p), 0);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &busy), 0);
    gate_await(&g, 1);
    before = fi_fired(FI_PTHREAD_CREATE);
    fi_arm_from(FI_PTHREAD_CREATE, 0, EAGAIN);
    rc = tp_submit(p, zero_task, NULL, &f);
    fi_disarm();
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(fi_fired(FI_PTHREAD_CREATE) - before, 1);
    ck_assert_int_eq(tp_pool_stats(p, &st), 0);
    ck_assert_uint_eq(st.workers, 1);
    gate_open(&g);
    ck_assert_int_eq(tp_future_get(f, NULL), 0);
    ck_assert_int_eq(tp_future_get(busy, NULL), 0);
    tp_future_free(f);
    tp_future_free(busy);
    tp_pool_destroy(p);
    gate_release(&g);
}
END_TEST

/* ---- Map and wait ---------------------------------------------------- */

enum { NITEMS = 100 };

struct map_case {
    struct tp_pool *pool;
    _Atomic long calls;
    long in[NITEMS], out[NITEMS];
    size_t bad;
};

static int double_item(void *ctx, size_t i, const void *in, void *out)
{
    struct map_case *mc = ctx;

    (void)i;
    atomic_fetch_add(&mc->calls, 1);
    *(long *)out = 2 * *(const long *)in;
    return 0;
}

static int map_once(void *arg)
{
    struct map_case *mc = arg;

    return tp_map(mc->pool, double_item, mc, NITEMS,
                  &(struct tp_map_options){ .in = mc->in,
                                            .in_size = sizeof(long),
                                            .out = mc->out,
                                            .out_size = sizeof(long),
                                            .chunk_size = 1 },
                  &mc->bad);
}

/*
 * Each call a map makes, failed in turn: either the map fails before it
 * runs anything (that call's error, no item run, *failed_index
 * TP_NO_INDEX), or, when only a helper task could not be queued, it does
 * every item with fewer threads and succeeds.  Either way it leaves the
 * queue empty and the pool usable.
 */
START_TEST(map_fails_cleanly_or_runs_everything_at_every_call)
{
    struct map_case mc;
    size_t s, i;

    memset(&mc, 0, sizeof(mc));
    for (i = 0; i < NITEMS; i++)
        mc.in[i] = (long)i;
    for (s = 0; s < NSITES; s++) {
        long n, k;

        ck_assert_int_eq(tp_pool_create(&(struct tp_options){ .workers = 2 },
                                        &mc.pool), 0);
        n = calls_made(s, map_once, &mc);
        tp_pool_destroy(mc.pool);
        for (k = 0; k < n; k++) {
            struct tp_stats st;
            int rc;

            ck_assert_int_eq(
                tp_pool_create(&(struct tp_options){ .workers = 2 },
                               &mc.pool), 0);
            atomic_store(&mc.calls, 0);
            memset(mc.out, 0, sizeof(mc.out));
            mc.bad = 0;
            fi_arm(sites[s].call, k, sites[s].err);
            rc = map_once(&mc);
            fi_disarm();
            ck_assert_uint_eq(mc.bad, TP_NO_INDEX);
            if (rc == 0) {
                ck_assert_int_eq(atomic_load(&mc.calls), NITEMS);
                for (i = 0; i < NITEMS; i++)
                    ck_assert_int_eq(mc.out[i], 2 * (long)i);
            } else {
                ck_assert_int_eq(rc, sites[s].err);
                ck_assert_int_eq(atomic_load(&mc.calls), 0);
            }
            ck_assert_int_eq(tp_pool_stats(mc.pool, &st), 0);
            ck_assert_uint_eq(st.queue_len, 0);
            check_usable(mc.pool);
            tp_pool_destroy(mc.pool);
        }
    }
}
END_TEST

/* A map whose helpers cannot be queued (their ring cannot be allocated)
 * is done by the caller alone. */
START_TEST(map_whose_helpers_cannot_be_queued_runs_on_the_caller)
{
    struct map_case mc;
    struct tp_stats st;
    long fired;
    size_t i;
    int rc;

    memset(&mc, 0, sizeof(mc));
    for (i = 0; i < NITEMS; i++)
        mc.in[i] = (long)i;
    ck_assert_int_eq(tp_pool_create(&(struct tp_options){ .workers = 2 },
                                    &mc.pool), 0);
    fired = fi_fired(FI_MALLOC);
    fi_arm(FI_MALLOC, 0, ENOMEM);       /* the queue's first ring */
    rc = map_once(&mc);
    fi_disarm();
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(fi_fired(FI_MALLOC) - fired, 1);
    ck_assert_int_eq(atomic_load(&mc.calls), NITEMS);
    ck_assert_int_eq(tp_pool_stats(mc.pool, &st), 0);
    ck_assert_uint_eq(st.submitted, 0);
    check_usable(mc.pool);
    tp_pool_destroy(mc.pool);
}
END_TEST

/* tp_wait_any allocates its links and a lock: each failure is its error,
 * and the futures it was given carry on. */
START_TEST(wait_any_fails_cleanly_at_every_call)
{
    struct tp_pool *p = NULL;
    struct tp_future *f;
    struct gate g;
    size_t s, idx;

    gate_init(&g);
    ck_assert_int_eq(tp_pool_create(&(struct tp_options){ .workers = 1 },
                                    &p), 0);
    ck_assert_int_eq(tp_submit(p, gated_task, &g, &f), 0);
    gate_await(&g, 1);
    for (s = 0; s < NSITES; s++) {
        long before = fi_count(sites[s].call), n, k;
        int rc = tp_wait_any(&f, 1, 0.001, &idx);

        n = fi_count(sites[s].call) - before;
        ck_assert_int_eq(rc, ETIMEDOUT);
        for (k = 0; k < n; k++) {
            int rc;

            fi_arm(sites[s].call, k, sites[s].err);
            rc = tp_wait_any(&f, 1, 0.001, &idx);
            fi_disarm();
            ck_assert_int_eq(rc, sites[s].err);
        }
    }
    gate_open(&g);
    ck_assert_int_eq(tp_wait_any(&f, 1, TP_WAIT_FOREVER, &idx), 0);
    tp_future_free(f);
    tp_pool_destroy(p);
    gate_release(&g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults_tp");
    TCase *inj = tcase_create("injector");
    TCase *tp = tcase_create("threadpool");

    tcase_add_test(inj, injector_fails_exactly_the_armed_call);
    tcase_add_test(inj, injector_arm_from_fails_until_disarmed);
    tcase_add_test(inj, injector_reaches_the_library);
    suite_add_tcase(s, inj);

    tcase_set_timeout(tp, 60);
    tcase_add_test(tp, create_of_a_fixed_pool_fails_cleanly_at_every_call);
    tcase_add_test(tp,
        create_of_a_bounded_dynamic_pool_fails_cleanly_at_every_call);
    tcase_add_test(tp, create_starts_every_worker_it_promises);
    tcase_add_test(tp, submit_fails_cleanly_at_every_call);
    tcase_add_test(tp,
        submit_to_a_pool_with_no_worker_fails_cleanly_at_every_call);
    tcase_add_test(tp, submit_that_cannot_grow_the_queue_fails_cleanly);
    tcase_add_test(tp, dynamic_pool_refused_a_thread_still_runs_the_task);
    tcase_add_test(tp, map_fails_cleanly_or_runs_everything_at_every_call);
    tcase_add_test(tp, map_whose_helpers_cannot_be_queued_runs_on_the_caller);
    tcase_add_test(tp, wait_any_fails_cleanly_at_every_call);
    suite_add_tcase(s, tp);
    return tests_run(s);
}

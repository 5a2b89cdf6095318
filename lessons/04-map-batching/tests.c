/*
 * tests.c - graded tests for lesson 4 (pmap in pmap.c).
 *
 * The items are their own indexes (in[i] == i), so an item function knows
 * which item it is running and can record where and when it ran: which
 * thread (a number given to each thread on first use) and in which global
 * position (an atomic counter).  From that the tests check what pmap
 * promises: answers in input order, one pool task per chunk (the pool's
 * own counter, tp_pool_stats), a chunk's items in order on one thread,
 * chunks side by side, the lowest failing item reported.
 */
#include "pmap.h"
#include "grading.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_ITEMS 1000

static atomic_int next_thread_no = 1;
static _Thread_local int thread_no;         /* 0 until first used */
static atomic_long next_seq;
static atomic_int ran_on[MAX_ITEMS];        /* the thread number */
static atomic_long ran_at[MAX_ITEMS];       /* the global position */
static atomic_int calls;

static void record(long i)
{
    if (thread_no == 0)
        thread_no = atomic_fetch_add(&next_thread_no, 1);
    if (i >= 0 && i < MAX_ITEMS) {
        atomic_store(&ran_on[i], thread_no);
        atomic_store(&ran_at[i], atomic_fetch_add(&next_seq, 1));
    }
    atomic_fetch_add(&calls, 1);
}

/* The tutorial's process_data. */
static int process_data(long x, long *out)
{
    record(x);
    *out = x * 2;
    return 0;
}

/* Early items are slow, so early chunks finish last. */
static int slow_early(long x, long *out)
{
    record(x);
    if (x < 10)
        grade_msleep(10 - x);
    *out = x * 2;
    return 0;
}

/* Fails at items 17 (EDOM) and 33 (ERANGE). */
static int fails_twice(long x, long *out)
{
    record(x);
    if (x == 17)
        return EDOM;
    if (x == 33)
        return ERANGE;
    *out = x * 2;
    return 0;
}

/* Every item from 5 on fails, each with its own code (1000 + x). */
static int fails_from_5(long x, long *out)
{
    record(x);
    if (x >= 5)
        return (int)(1000 + x);
    *out = x * 2;
    return 0;
}

/* Items that wait (up to a deadline) until 2 items run at once. */
static atomic_int arrived, met;

static int meet(long x, long *out)
{
    double deadline = grade_now() + 3.0;

    record(x);
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < 2 && grade_now() < deadline)
        grade_msleep(1);
    if (atomic_load(&arrived) >= 2)
        atomic_fetch_add(&met, 1);
    *out = x;
    return 0;
}

static struct tp_pool *make_pool(unsigned workers)
{
    struct tp_options opt = TP_OPTIONS_INIT;
    struct tp_pool *pool = NULL;
    int rc;

    opt.workers = workers;
    rc = tp_pool_create(&opt, &pool);
    ck_assert_msg(rc == 0, "tp_pool_create returned %d", rc);
    return pool;
}

/* in[i] = i; out[i] = -1, up to MAX_ITEMS + 1 (a sentinel after n). */
static long in[MAX_ITEMS + 1], out[MAX_ITEMS + 1];

static void reset(void)
{
    for (long i = 0; i <= MAX_ITEMS; i++) {
        in[i] = i;
        out[i] = -1;
    }
    for (long i = 0; i < MAX_ITEMS; i++)
        atomic_store(&ran_on[i], 0);
    atomic_store(&calls, 0);
}

static void check_doubled(size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(out[i] == 2 * (long)i,
                      "out[%zu] is %ld, expected %ld", i, out[i],
                      2 * (long)i);
    ck_assert_msg(out[n] == -1, "pmap wrote past the end of out");
}

/* ---- tests ----------------------------------------------------------- */

START_TEST(map_doubles_every_item)
{
    struct tp_pool *pool = make_pool(3);
    long data_list[4] = { 1, 2, 3, 4 }, results[4] = { 0 };
    size_t failed = 99;

    /* The tutorial: list(ex.map(process_data, [1, 2, 3, 4])). */
    ck_assert_int_eq(pmap(pool, process_data, data_list, results, 4, 1,
                          &failed), 0);
    ck_assert_msg(results[0] == 2 && results[1] == 4 && results[2] == 6 &&
                  results[3] == 8, "got [%ld, %ld, %ld, %ld], not "
                  "[2, 4, 6, 8]", results[0], results[1], results[2],
                  results[3]);
    ck_assert_uint_eq(failed, 4);

    reset();
    ck_assert_int_eq(pmap(pool, process_data, in, out, MAX_ITEMS, 7, NULL),
                     0);
    check_doubled(MAX_ITEMS);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(answers_stay_in_input_order)
{
    struct tp_pool *pool = make_pool(4);

    reset();
    ck_assert_int_eq(pmap(pool, slow_early, in, out, 40, 2, NULL), 0);
    check_doubled(40);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(a_short_last_chunk_is_mapped_too)
{
    struct tp_pool *pool = make_pool(2);

    reset();
    ck_assert_int_eq(pmap(pool, process_data, in, out, 10, 3, NULL), 0);
    check_doubled(10);
    reset();
    ck_assert_int_eq(pmap(pool, process_data, in, out, 5, 100, NULL), 0);
    check_doubled(5);
    ck_assert_int_eq(atomic_load(&calls), 5);
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(each_chunk_is_one_pool_task)
{
    static const size_t cases[][2] = {      /* n, chunk */
        { 100, 7 }, { 100, 100 }, { 100, 1 }, { 99, 33 }, { 1, 5 },
    };
    struct tp_pool *pool = make_pool(2);

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t n = cases[c][0], chunk = cases[c][1];
        size_t want = (n + chunk - 1) / chunk;
        struct tp_stats before, after;

        reset();
        ck_assert_int_eq(tp_pool_stats(pool, &before), 0);
        ck_assert_int_eq(pmap(pool, process_data, in, out, n, chunk, NULL),
                         0);
        ck_assert_int_eq(tp_pool_stats(pool, &after), 0);
        check_doubled(n);
        ck_assert_msg(after.submitted - before.submitted == want,
                      "%zu items in chunks of %zu took %llu pool tasks, "
                      "not %zu", n, chunk,
                      (unsigned long long)(after.submitted -
                                           before.submitted), want);
    }
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(a_chunk_runs_in_order_on_one_thread)
{
    enum { N = 200, CHUNK = 10 };
    struct tp_pool *pool = make_pool(4);

    reset();
    ck_assert_int_eq(pmap(pool, process_data, in, out, N, CHUNK, NULL), 0);
    check_doubled(N);
    for (int k = 0; k < N / CHUNK; k++) {
        for (int i = k * CHUNK + 1; i < (k + 1) * CHUNK; i++) {
            ck_assert_msg(atomic_load(&ran_on[i]) ==
                          atomic_load(&ran_on[k * CHUNK]),
                          "items %d and %d of one chunk ran on different "
                          "threads", k * CHUNK, i);
            ck_assert_msg(atomic_load(&ran_at[i]) >
                          atomic_load(&ran_at[i - 1]),
                          "item %d of a chunk ran before item %d", i, i - 1);
        }
    }
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(chunks_run_side_by_side)
{
    struct tp_pool *pool = make_pool(2);

    reset();
    atomic_store(&arrived, 0);
    atomic_store(&met, 0);
    ck_assert_int_eq(pmap(pool, meet, in, out, 2, 1, NULL), 0);
    ck_assert_msg(atomic_load(&met) == 2,
                  "two chunks never ran at the same time on two workers: "
                  "submit every chunk before waiting for any");
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(the_first_failing_item_is_reported)
{
    struct tp_pool *pool = make_pool(3);
    size_t failed = 0;
    int rc;

    reset();
    rc = pmap(pool, fails_twice, in, out, 50, 4, &failed);
    ck_assert_msg(rc == EDOM, "pmap returned %d, not the error of item 17 "
                  "(EDOM, %d)", rc, EDOM);
    ck_assert_msg(failed == 17, "pmap reported item %zu, not 17", failed);
    for (size_t i = 0; i < 17; i++)
        ck_assert_msg(out[i] == 2 * (long)i, "item %zu, before the failing "
                      "one, was not mapped", i);

    /* One chunk: it stops at item 17, so 18.. never run. */
    reset();
    rc = pmap(pool, fails_twice, in, out, 50, 50, &failed);
    ck_assert_int_eq(rc, EDOM);
    ck_assert_uint_eq(failed, 17);
    ck_assert_msg(atomic_load(&calls) == 18,
                  "a chunk must stop at its first failing item; %d items "
                  "ran, not 18", atomic_load(&calls));
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(many_failures_at_once_report_the_lowest)
{
    struct tp_pool *pool = make_pool(4);
    size_t failed = 0;
    int rc;

    for (int round = 0; round < 5; round++) {
        reset();
        rc = pmap(pool, fails_from_5, in, out, 400, 1, &failed);
        ck_assert_msg(rc == 1005 && failed == 5,
                      "with items 5..399 all failing, pmap returned %d for "
                      "item %zu, not 1005 for item 5", rc, failed);
        check_doubled(5);
    }
    tp_pool_destroy(pool);
}
END_TEST

START_TEST(an_empty_map_or_bad_arguments_run_nothing)
{
    struct tp_pool *pool = make_pool(1);
    size_t failed = 99;

    reset();
    ck_assert_msg(pmap(pool, process_data, in, out, 0, 4, &failed) == 0,
                  "mapping 0 items must return 0");
    ck_assert_uint_eq(failed, 0);
    ck_assert_int_eq(atomic_load(&calls), 0);
    ck_assert_int_eq(pmap(pool, process_data, in, out, 10, 0, NULL), EINVAL);
    ck_assert_int_eq(pmap(pool, NULL, in, out, 10, 1, NULL), EINVAL);
    ck_assert_int_eq(pmap(NULL, process_data, in, out, 10, 1, NULL),
                     EINVAL);
    ck_assert_int_eq(atomic_load(&calls), 0);
    tp_pool_destroy(pool);
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST_TIMEOUT(map_doubles_every_item, 2, 1, 4),
    GRADE_TEST_TIMEOUT(answers_stay_in_input_order, 3, 1, 4),
    GRADE_TEST_TIMEOUT(a_short_last_chunk_is_mapped_too, 2, 1, 4),
    GRADE_TEST_TIMEOUT(each_chunk_is_one_pool_task, 3, 1, 4),
    GRADE_TEST_TIMEOUT(a_chunk_runs_in_order_on_one_thread, 2, 1, 4),
    GRADE_TEST_TIMEOUT(chunks_run_side_by_side, 2, 1, 6),
    GRADE_TEST_TIMEOUT(the_first_failing_item_is_reported, 3, 1, 4),
    GRADE_TEST_TIMEOUT(many_failures_at_once_report_the_lowest, 2, 1, 4),
    GRADE_TEST_TIMEOUT(an_empty_map_or_bad_arguments_run_nothing, 1, 0, 4),
};
GRADE_MAIN(tests)

/*
 * tests.c - graded tests for lesson 6 (minipp.c).
 *
 * Each test runs in its own process (Check's fork mode), so "no zombie"
 * can be checked exactly: after the code under test returns, the test
 * process must have no child left at all, and waitpid(-1, ..., WNOHANG)
 * must fail with ECHILD.  "No descriptor left open" is checked by counting
 * the entries of /proc/self/fd before and after.
 */
#include "minipp.h"
#include "grading.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The tutorial's functions. */
static long square(long x)
{
    return x * x;
}

static long is_prime(long n)
{
    if (n < 2)
        return 0;
    for (long i = 2; i * i <= n; i++)
        if (n % i == 0)
            return 0;
    return 1;
}

static long my_pid(long unused)
{
    (void)unused;
    return (long)getpid();
}

static long crash(long unused)
{
    (void)unused;
    abort();
}

static long exit_early(long unused)
{
    (void)unused;
    _exit(3);
}

/* Number of open descriptors of the calling process. */
static long open_fds(long unused)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    (void)unused;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;       /* not the one opendir() holds */
}

/* Sleeps 40 ms, then answers with its pid: every worker gets a task. */
static long slow_pid(long unused)
{
    (void)unused;
    grade_msleep(40);
    return (long)getpid();
}

/* Task x finishes after (10 - x) * 5 ms: later tasks finish first. */
static long slow_square(long x)
{
    grade_msleep((10 - x % 10) * 5);
    return x * x;
}

static void assert_no_child_left(void)
{
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);

    ck_assert_msg(pid == -1 && errno == ECHILD,
                  "a child process is left behind (a zombie, or still "
                  "running): every child must be reaped with waitpid()");
}

START_TEST(run_in_child_returns_square_of_5)
{
    long r = 0;
    int rc = run_in_child(square, 5, &r);

    ck_assert_msg(rc == 0, "run_in_child(square, 5) returned %d (%s)", rc,
                  strerror(rc));
    ck_assert_int_eq(r, 25);
}
END_TEST

START_TEST(run_in_child_computes_in_another_process)
{
    long r = 0;
    int rc = run_in_child(my_pid, 0, &r);

    ck_assert_int_eq(rc, 0);
    ck_assert_msg(r > 0 && r != (long)getpid(),
                  "the function ran in the calling process, not a child");
}
END_TEST

START_TEST(run_in_child_leaves_no_zombie)
{
    long r;

    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(run_in_child(square, i, &r), 0);
    assert_no_child_left();
}
END_TEST

START_TEST(run_in_child_reports_a_crashed_child)
{
    long r = -7;
    int rc = run_in_child(crash, 1, &r);

    ck_assert_msg(rc == EIO, "a child killed by SIGABRT must give EIO, "
                  "got %d (%s)", rc, strerror(rc));
    ck_assert_msg(r == -7, "*result was written although the child died");
    assert_no_child_left();
}
END_TEST

START_TEST(run_in_child_reports_an_early_exit)
{
    long r;
    int rc = run_in_child(exit_early, 1, &r);

    ck_assert_msg(rc == EIO, "a child that exits with status 3 without "
                  "answering must give EIO, got %d (%s)", rc, strerror(rc));
    assert_no_child_left();
}
END_TEST

START_TEST(run_in_child_closes_its_pipe)
{
    long before = open_fds(0), r;

    ck_assert_int_eq(run_in_child(square, 3, &r), 0);
    ck_assert_int_eq(run_in_child(crash, 3, &r), EIO);
    ck_assert_msg(open_fds(0) == before, "descriptors leaked: %ld open "
                  "before, %ld after", before, open_fds(0));
}
END_TEST

START_TEST(run_in_child_rejects_null_arguments)
{
    long r;

    ck_assert_int_eq(run_in_child(NULL, 1, &r), EINVAL);
    ck_assert_int_eq(run_in_child(square, 1, NULL), EINVAL);
    assert_no_child_left();
}
END_TEST

START_TEST(pool_map_matches_is_prime)
{
    enum { N = 2000 };
    static long in[N], out[N];
    struct mpp_pool *pool;

    for (long i = 0; i < N; i++) {
        in[i] = i;
        out[i] = -1;
    }
    ck_assert_int_eq(mpp_create(3, is_prime, &pool), 0);
    ck_assert_int_eq(mpp_map(pool, in, out, N), 0);
    for (long i = 0; i < N; i++)
        ck_assert_msg(out[i] == is_prime(i), "is_prime(%ld): got %ld", i,
                      out[i]);
    ck_assert_int_eq(mpp_destroy(pool), 0);
}
END_TEST

START_TEST(pool_runs_tasks_in_every_worker)
{
    long in[6] = { 0 }, out[6];
    long seen[6];
    int distinct = 0;
    struct mpp_pool *pool;

    ck_assert_int_eq(mpp_create(3, slow_pid, &pool), 0);
    ck_assert_int_eq(mpp_map(pool, in, out, 6), 0);
    ck_assert_int_eq(mpp_destroy(pool), 0);
    for (int i = 0; i < 6; i++) {
        int j;

        ck_assert_msg(out[i] > 0 && out[i] != (long)getpid(),
                      "task %d ran in the parent", i);
        for (j = 0; j < distinct && seen[j] != out[i]; j++)
            ;
        if (j == distinct)
            seen[distinct++] = out[i];
    }
    ck_assert_msg(distinct == 3, "3 workers, but tasks ran in %d "
                  "process(es)", distinct);
}
END_TEST

START_TEST(pool_children_hold_only_their_own_pipes)
{
    long in[8] = { 0 }, out[8];
    struct mpp_pool *pool;

    /* Every worker reports how many descriptors it has open.  A worker
     * that kept the copies of earlier workers' pipes has more. */
    ck_assert_int_eq(mpp_create(4, open_fds, &pool), 0);
    ck_assert_int_eq(mpp_map(pool, in, out, 8), 0);
    ck_assert_int_eq(mpp_destroy(pool), 0);
    for (int i = 1; i < 8; i++)
        ck_assert_msg(out[i] == out[0], "workers have different numbers of "
                      "open descriptors (%ld and %ld): a child must close "
                      "the pipes of the workers forked before it", out[0],
                      out[i]);
}
END_TEST

START_TEST(pool_map_keeps_order_when_tasks_finish_out_of_order)
{
    long in[20], out[20];
    struct mpp_pool *pool;

    for (long i = 0; i < 20; i++)
        in[i] = i;
    ck_assert_int_eq(mpp_create(4, slow_square, &pool), 0);
    ck_assert_int_eq(mpp_map(pool, in, out, 20), 0);
    for (long i = 0; i < 20; i++)
        ck_assert_int_eq(out[i], i * i);
    ck_assert_int_eq(mpp_destroy(pool), 0);
}
END_TEST

START_TEST(pool_maps_many_times)
{
    long in[10], out[10];
    struct mpp_pool *pool;

    ck_assert_int_eq(mpp_create(2, square, &pool), 0);
    for (long round = 0; round < 50; round++) {
        for (long i = 0; i < 10; i++)
            in[i] = round * 10 + i;
        ck_assert_int_eq(mpp_map(pool, in, out, 10), 0);
        for (long i = 0; i < 10; i++)
            ck_assert_int_eq(out[i], in[i] * in[i]);
    }
    ck_assert_int_eq(mpp_map(pool, in, out, 0), 0);
    ck_assert_int_eq(mpp_destroy(pool), 0);
}
END_TEST

START_TEST(pool_destroy_reaps_every_worker)
{
    long in[4] = { 1, 2, 3, 4 }, out[4];
    struct mpp_pool *pool;

    ck_assert_int_eq(mpp_create(4, square, &pool), 0);
    ck_assert_int_eq(mpp_map(pool, in, out, 4), 0);
    ck_assert_int_eq(mpp_destroy(pool), 0);
    assert_no_child_left();
}
END_TEST

START_TEST(pool_destroy_leaves_no_descriptor)
{
    long before = open_fds(0);
    struct mpp_pool *pool;

    ck_assert_int_eq(mpp_create(3, square, &pool), 0);
    ck_assert_int_eq(mpp_destroy(pool), 0);
    ck_assert_msg(open_fds(0) == before, "descriptors leaked: %ld open "
                  "before, %ld after", before, open_fds(0));
}
END_TEST

START_TEST(pool_create_rejects_bad_arguments)
{
    struct mpp_pool *pool;

    ck_assert_int_eq(mpp_create(0, square, &pool), EINVAL);
    ck_assert_int_eq(mpp_create(MPP_MAX_WORKERS + 1, square, &pool),
                     EINVAL);
    ck_assert_int_eq(mpp_create(2, NULL, &pool), EINVAL);
    ck_assert_int_eq(mpp_destroy(NULL), 0);
    assert_no_child_left();
}
END_TEST

static const struct grade_test tests[] = {
    GRADE_TEST(run_in_child_returns_square_of_5, 2, 0),
    GRADE_TEST(run_in_child_computes_in_another_process, 2, 0),
    GRADE_TEST(run_in_child_leaves_no_zombie, 2, 0),
    GRADE_TEST(run_in_child_reports_a_crashed_child, 2, 0),
    GRADE_TEST(run_in_child_reports_an_early_exit, 1, 0),
    GRADE_TEST(run_in_child_closes_its_pipe, 1, 0),
    GRADE_TEST(run_in_child_rejects_null_arguments, 1, 0),
    GRADE_TEST(pool_map_matches_is_prime, 3, 0),
    GRADE_TEST(pool_runs_tasks_in_every_worker, 2, 0),
    GRADE_TEST(pool_children_hold_only_their_own_pipes, 2, 0),
    GRADE_TEST(pool_map_keeps_order_when_tasks_finish_out_of_order, 2, 0),
    GRADE_TEST(pool_maps_many_times, 1, 0),
    GRADE_TEST(pool_destroy_reaps_every_worker, 2, 0),
    GRADE_TEST(pool_destroy_leaves_no_descriptor, 1, 0),
    GRADE_TEST(pool_create_rejects_bad_arguments, 1, 0),
};
GRADE_MAIN(tests)
